import { Button, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router-dom';

export function NotFoundPage() {
  return (
    <Stack align="center" gap="sm" py={80}>
      <Title order={2}>Page not found</Title>
      <Text c="dimmed">There is nothing at this address in the console.</Text>
      <Button component={Link} to="/" variant="light">
        Back to the dashboard
      </Button>
    </Stack>
  );
}
