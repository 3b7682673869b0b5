import { Alert, List, Text } from '@mantine/core';
import { ApiError, type FieldError, errorMessage } from '../api/client';
import { IconAlert } from './icons';

/** "accessMethods/0/port" -> "accessMethods #1 › port" (for errors we cannot put next to a field). */
function prettyPath(path: string): string {
  return path
    .replace(/^\//, '')
    .split('/')
    .filter(Boolean)
    .map((seg) => (/^\d+$/.test(seg) ? `#${Number(seg) + 1}` : seg))
    .join(' › ');
}

export function formatFieldError(e: FieldError): string {
  if (e.row !== undefined) return `row ${e.row}${e.column ? `, column ${e.column}` : ''}: ${e.message}`;
  const where = prettyPath(e.path ?? '');
  return where ? `${where}: ${e.message}` : e.message;
}

/** Field errors of a failed request by JSON pointer ("/name"), for inline display. */
export function fieldErrors(err: unknown): Map<string, string> {
  const map = new Map<string, string>();
  if (err instanceof ApiError) {
    for (const e of err.fieldErrors) {
      if (e.path && !map.has(e.path)) map.set(e.path, e.message);
    }
  }
  return map;
}

interface ProblemAlertProps {
  error: unknown;
  /** Field error paths (and their sub-paths) already shown next to their inputs (left out of the list). */
  inlinePaths?: readonly string[];
  title?: string;
  onClose?: () => void;
}

/** Shows a problem+json answer: its detail and every field error not shown inline. */
export function ProblemAlert({ error, inlinePaths = [], title, onClose }: ProblemAlertProps) {
  if (!error) return null;
  const problem = error instanceof ApiError ? error.problem : null;
  const inline = (path: string) => inlinePaths.some((p) => path === p || path.startsWith(`${p}/`));
  const listed = (problem?.errors ?? []).filter((e) => !e.path || !inline(e.path));
  const detail = problem ? problem.detail || problem.title : errorMessage(error);
  return (
    <Alert
      color="red"
      variant="light"
      icon={<IconAlert />}
      title={title ?? problem?.title ?? 'Something went wrong'}
      withCloseButton={!!onClose}
      onClose={onClose}
      role="alert"
      data-testid="problem-alert"
    >
      {detail && detail !== (title ?? problem?.title) && <Text size="sm">{detail}</Text>}
      {listed.length > 0 && (
        <List size="sm" mt={detail ? 'xs' : 0} spacing={2} data-testid="problem-errors">
          {listed.slice(0, 200).map((e) => (
            <List.Item key={`${e.path}|${e.row ?? ''}|${e.column ?? ''}|${e.message}`}>{formatFieldError(e)}</List.Item>
          ))}
          {listed.length > 200 && <List.Item>… and {listed.length - 200} more</List.Item>}
        </List>
      )}
    </Alert>
  );
}
