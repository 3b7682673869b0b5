import { Alert, Button, Skeleton, Stack } from '@mantine/core';
import type { FormEvent, ReactNode } from 'react';
import { ProblemAlert } from '../common/errors';
import { IconCheck } from '../common/icons';
import { PageHeader } from '../common/ui';
import type { SettingsFormState } from './useSettingsForm';

interface SettingsFormProps<T extends object> {
  form: SettingsFormState<T>;
  testId: string;
  title: string;
  description: string;
  saveTestId: string;
  discardTestId?: string;
  loadErrorTitle: string;
  saveErrorTitle: string;
  /** Fields whose errors the inputs show themselves (left out of the alert's list). */
  inlinePaths: string[];
  savedText: string;
  savedTestId: string;
  /** Height of the placeholder while the document loads. */
  skeletonHeight: number;
  /** The sections, once the document is loaded. */
  children: (draft: T) => ReactNode;
}

/** A settings page (System Management): header with Discard / Save, load and save feedback, then the sections. */
export function SettingsForm<T extends object>({ form: f, testId, title, description, saveTestId, discardTestId, loadErrorTitle, saveErrorTitle, inlinePaths, savedText, savedTestId, skeletonHeight, children }: SettingsFormProps<T>) {
  const submit = (e: FormEvent) => {
    e.preventDefault();
    f.submit();
  };
  return (
    <form onSubmit={submit} noValidate data-testid={testId}>
      <Stack gap="lg" maw={1080}>
        <PageHeader
          title={title}
          description={description}
          actions={
            <>
              <Button variant="default" disabled={!f.dirty || f.save.isPending} onClick={f.discard} data-testid={discardTestId}>
                Discard changes
              </Button>
              <Button type="submit" disabled={!f.dirty} loading={f.save.isPending} data-testid={saveTestId}>
                Save changes
              </Button>
            </>
          }
        />
        {f.doc.error ? <ProblemAlert error={f.doc.error} title={loadErrorTitle} /> : null}
        <ProblemAlert error={f.save.error} title={saveErrorTitle} inlinePaths={inlinePaths} />
        {f.savedAt && !f.dirty && (
          <Alert color="teal" variant="light" icon={<IconCheck />} data-testid={savedTestId}>
            {savedText}
          </Alert>
        )}
        {!f.draft ? <Skeleton h={skeletonHeight} /> : children(f.draft)}
      </Stack>
    </form>
  );
}
