import { Button, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { useIsAdmin } from './AuthProvider';

/** System Management is for Administrators (the gateway answers 403 to everyone else there). */
export function AdminOnly({ children }: { children: ReactNode }) {
  if (useIsAdmin()) return <>{children}</>;
  return (
    <Stack align="center" gap="sm" py={80}>
      <Title order={2}>Not available for your role</Title>
      <Text c="dimmed">System management is for administrators.</Text>
      <Button component={Link} to="/" variant="light">
        Back to the dashboard
      </Button>
    </Stack>
  );
}
