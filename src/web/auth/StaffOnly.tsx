import { Button, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { useIsStaff } from './AuthProvider';

/** Inventory and user pages are for Administrators and Operators. */
export function StaffOnly({ children }: { children: ReactNode }) {
  if (useIsStaff()) return <>{children}</>;
  return (
    <Stack align="center" gap="sm" py={80}>
      <Title order={2}>Not available for your role</Title>
      <Text c="dimmed">This part of the console is for administrators and operators.</Text>
      <Button component={Link} to="/" variant="light">
        Back to my assets
      </Button>
    </Stack>
  );
}
