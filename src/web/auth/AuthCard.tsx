import { Box, Center, Group, Paper, Stack, Text, ThemeIcon, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { IconGate } from '../common/icons';

/** The centered card the sign-in and password forms sit in. */
export function AuthCard({ title, subtitle, width = 420, children }: { title: string; subtitle?: ReactNode; width?: number; children: ReactNode }) {
  return (
    <Box mih="100vh" bg="var(--mantine-color-gray-1)" style={{ display: 'flex' }}>
      <Center style={{ flex: 1 }} p="md">
        <Stack w="100%" maw={width} gap="lg">
          <Group gap="sm" justify="center">
            <ThemeIcon size={42} radius="md" color="portcullis" variant="filled">
              <IconGate size={26} />
            </ThemeIcon>
            <div>
              <Text fw={700} fz={22} lh={1.1}>
                Portcullis
              </Text>
              <Text c="dimmed" fz="xs">
                Secure remote access for OT networks
              </Text>
            </div>
          </Group>
          <Paper withBorder shadow="sm" radius="md" p="xl">
            <Title order={3} fw={600} mb={subtitle ? 4 : 'md'}>
              {title}
            </Title>
            {subtitle && (
              <Text c="dimmed" size="sm" mb="md">
                {subtitle}
              </Text>
            )}
            {children}
          </Paper>
          <Text c="dimmed" fz="xs" ta="center">
            Authorized personnel only. All sessions are recorded and audited.
          </Text>
        </Stack>
      </Center>
    </Box>
  );
}
