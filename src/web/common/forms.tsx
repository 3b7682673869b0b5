import { Button, Group, type MantineSize, type MantineSpacing, Modal, Stack, Text, Textarea, TextInput } from '@mantine/core';
import type { FormEvent, ReactNode } from 'react';

interface FormModalProps {
  opened: boolean;
  onClose: () => void;
  title: ReactNode;
  size: MantineSize;
  /** data-testid of the form. */
  testId: string;
  onSubmit: (e: FormEvent<HTMLFormElement>) => void;
  closeOnClickOutside?: boolean;
  gap?: MantineSpacing;
  children: ReactNode;
}

/** A centered modal holding one form (browser validation off: the form and the gateway check). */
export function FormModal({ opened, onClose, title, size, testId, onSubmit, closeOnClickOutside, gap, children }: FormModalProps) {
  return (
    <Modal opened={opened} onClose={onClose} title={<Text fw={600}>{title}</Text>} size={size} centered closeOnClickOutside={closeOnClickOutside}>
      <form onSubmit={onSubmit} noValidate data-testid={testId}>
        <Stack gap={gap}>{children}</Stack>
      </form>
    </Modal>
  );
}

interface FormFooterProps {
  onCancel: () => void;
  submitLabel: ReactNode;
  /** data-testid of the submit button. */
  submitTestId: string;
  saving: boolean;
  disabled?: boolean;
  submitIcon?: ReactNode;
  /** When given: a status line while the save failed or the form has errors. */
  feedback?: { error: unknown; invalid: boolean };
  mt?: MantineSpacing;
}

/** Cancel and submit buttons at the bottom of a form. */
export function FormFooter({ onCancel, submitLabel, submitTestId, saving, disabled, submitIcon, feedback, mt }: FormFooterProps) {
  return (
    <Group justify="flex-end" mt={mt}>
      {feedback && (feedback.error || feedback.invalid) && (
        <Text size="sm" c="red" mr="auto" role="status">
          {feedback.error ? 'Not saved: see the messages above.' : 'Fix the highlighted fields.'}
        </Text>
      )}
      <Button variant="default" onClick={onCancel}>
        Cancel
      </Button>
      <Button type="submit" loading={saving} disabled={disabled} leftSection={submitIcon} data-testid={submitTestId}>
        {submitLabel}
      </Button>
    </Group>
  );
}

interface NameFieldProps {
  description: string;
  value: string;
  onChange: (value: string) => void;
  error: ReactNode;
  testId: string;
}

/** The required, unique "Name" of a site, zone or asset; takes the focus when the form opens. */
export function NameField({ description, value, onChange, error, testId }: NameFieldProps) {
  return (
    <TextInput
      label="Name"
      description={description}
      required
      data-autofocus
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      error={error}
      maxLength={128}
      data-testid={testId}
    />
  );
}

interface DescriptionFieldProps {
  value: string;
  onChange: (value: string) => void;
  error: ReactNode;
  maxRows?: number;
  testId: string;
}

/** The free-text "Description" of a site, zone or asset. */
export function DescriptionField({ value, onChange, error, maxRows = 5, testId }: DescriptionFieldProps) {
  return (
    <Textarea
      label="Description"
      autosize
      minRows={2}
      maxRows={maxRows}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      error={error}
      data-testid={testId}
    />
  );
}
