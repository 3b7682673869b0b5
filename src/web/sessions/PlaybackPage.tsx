import { Alert, Anchor, Badge, Button, Code, Group, Paper, Progress, SimpleGrid, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router-dom';
import { ApiError, api } from '../api/client';
import { type BrokeredSession, PROTOCOL_LABELS, type RecordingVerification, SESSION_STATE_COLOR } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { formatBytes, formatDateTime, formatDuration } from '../common/format';
import { IconAlert, IconArrowLeft, IconCheck, IconDownload, IconEye, IconShield } from '../common/icons';
import { useIsAdmin } from '../auth/AuthProvider';
import { GuacPlayer } from './GuacPlayer';
import { RecordingPlayer } from './RecordingPlayer';

function Fact({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div data-testid={testId}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </div>
  );
}

function Seal({ verify }: { verify: ReturnType<typeof useQuery<RecordingVerification>> }) {
  if (verify.isPending) return <Skeleton h={64} mb="md" />;
  if (verify.isError) return <ProblemAlert error={verify.error} title="The recording could not be checked" />;
  const v = verify.data;
  if (v.ok) {
    return (
      <Alert
        color="teal"
        variant="light"
        icon={<IconShield />}
        mb="md"
        title={`Sealed ✓${v.interrupted ? ' (the session was interrupted; the recording was sealed on recovery)' : ''}`}
        data-testid="recording-seal"
        data-ok="true"
      >
        <Text size="sm">
          The recording matches its signed manifest: {formatBytes(v.bytes)}, SHA-256 <Code>{v.sha256}</Code>, signing key <Code>{v.keyId}</Code>.
        </Text>
      </Alert>
    );
  }
  return (
    <Alert color="red" variant="light" icon={<IconAlert />} mb="md" title="Problem: the recording does not verify" data-testid="recording-seal" data-ok="false" role="alert">
      <Text size="sm">
        {v.message} <Text span c="dimmed">({v.reason})</Text>
      </Text>
      <Text size="sm" mt={4}>
        Treat what it shows with care and keep the file for investigation.
      </Text>
    </Alert>
  );
}

/** /sessions/:id/play: the session's facts, whether its recording is intact, and the recording itself. */
interface VideoJob {
  state: 'none' | 'running' | 'done' | 'failed';
  progress: number;
  bytes?: number;
  error?: string;
}

/**
 * Administrators export a display recording to MP4 (ffmpeg on the gateway, in the background):
 * the button starts it, the bar shows its progress, then the file can be downloaded.
 */
function VideoExport({ sessionId }: { sessionId: string }) {
  const qc = useQueryClient();
  const job = useQuery({
    queryKey: ['sessions', 'video', sessionId],
    queryFn: ({ signal }) => api.get<VideoJob>(`/sessions/${sessionId}/recording/video`, undefined, signal),
    refetchInterval: (q) => (q.state.data?.state === 'running' ? 1000 : false),
  });
  const start = useMutation({
    mutationFn: () => api.post<VideoJob>(`/sessions/${sessionId}/recording/video`),
    onSuccess: (data) => qc.setQueryData(['sessions', 'video', sessionId], data),
  });
  const j = job.data;
  if (j?.state === 'done') {
    return (
      <Button component="a" href={`/api/v1/sessions/${sessionId}/recording/video/file`} leftSection={<IconDownload size={16} />} variant="light" data-testid="video-download">
        Download MP4{j.bytes ? ` (${formatBytes(j.bytes)})` : ''}
      </Button>
    );
  }
  if (j?.state === 'running') {
    return (
      <Stack gap={4} w={220} data-testid="video-progress">
        <Text size="xs" c="dimmed">
          Exporting to MP4… {Math.round(j.progress * 100)} %
        </Text>
        <Progress value={j.progress * 100} animated />
      </Stack>
    );
  }
  return (
    <Group gap="xs">
      {j?.state === 'failed' && (
        <Text size="xs" c="red" data-testid="video-error">
          Export failed: {j.error}
        </Text>
      )}
      <Button variant="default" leftSection={<IconDownload size={16} />} loading={start.isPending} onClick={() => start.mutate()} data-testid="video-export">
        Export MP4
      </Button>
    </Group>
  );
}

export function PlaybackPage() {
  const { sessionId = '' } = useParams();
  const admin = useIsAdmin();
  const session = useQuery({
    queryKey: ['sessions', 'one', sessionId],
    queryFn: ({ signal }) => api.get<BrokeredSession>(`/sessions/${sessionId}`, undefined, signal),
  });
  const s = session.data;
  const live = s?.state === 'active' || s?.state === 'pending';
  const recorded = !!s?.recorded && !live;
  const verify = useQuery({
    queryKey: ['sessions', 'verify', sessionId],
    queryFn: ({ signal }) => api.get<RecordingVerification>(`/sessions/${sessionId}/recording/verify`, undefined, signal),
    enabled: recorded,
  });
  // Every download of a recording is audited: fetch it once per visit.
  const recording = useQuery({
    queryKey: ['sessions', 'recording', sessionId],
    queryFn: ({ signal }) => api.get<string>(`/sessions/${sessionId}/recording`, undefined, signal),
    enabled: recorded,
    staleTime: Number.POSITIVE_INFINITY,
    refetchOnWindowFocus: false,
  });

  const back = (
    <Anchor component={Link} to="/sessions/history" size="sm" c="dimmed">
      <Group gap={4}>
        <IconArrowLeft size={14} /> Session history
      </Group>
    </Anchor>
  );

  if (session.isError) {
    return (
      <>
        {back}
        <ProblemAlert error={session.error} title={session.error instanceof ApiError && session.error.status === 404 ? 'This session does not exist' : 'Could not load the session'} />
      </>
    );
  }

  return (
    <>
      {back}
      <Group justify="space-between" align="flex-end" mt="xs" mb="md">
        <div>
          <Title order={2} fw={600} data-testid="playback-title">
            {s ? `${s.user.username} on ${s.asset.name}` : <Skeleton h={28} w={260} />}
          </Title>
          <Text c="dimmed" size="sm">
            {s ? `Session ${s.id.slice(0, 8)} · ${PROTOCOL_LABELS[s.protocol]} · ${formatDateTime(s.startedAt ?? s.createdAt)}` : 'Recording'}
          </Text>
        </div>
        {live && s && (
          <Button component="a" href={`/sessions/${s.id}/watch`} target="_blank" rel="noopener" leftSection={<IconEye size={16} />} variant="light">
            Watch live
          </Button>
        )}
        <Group gap="xs">
          {admin && s && (
            <Button component={Link} to={`/system/audit?targetId=${encodeURIComponent(s.id)}`} variant="default" data-testid="session-audit">
              Audit trail
            </Button>
          )}
          {recorded && admin && s && (s.protocol === 'vnc' || s.protocol === 'rdp') && <VideoExport sessionId={s.id} />}
        </Group>
      </Group>

      {recorded && <Seal verify={verify} />}

      <Paper withBorder radius="md" p="md" mb="md" data-testid="session-facts">
        {s ? (
          <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} spacing="md">
            <Fact label="User">{s.user.username}</Fact>
            <Fact label="Asset">
              <Anchor component={Link} to={`/assets/${s.asset.id}`} size="sm">
                {s.asset.name}
              </Anchor>
            </Fact>
            <Fact label="Site">{s.site.name}</Fact>
            <Fact label="Protocol">
              {PROTOCOL_LABELS[s.protocol]} · port {s.port}
            </Fact>
            <Fact label="Via">
              {s.via === 'browser' ? 'Browser' : 'SSH front door'}
              {s.sourceIp ? ` from ${s.sourceIp}` : ''}
            </Fact>
            <Fact label="State" testId="fact-state">
              <Badge size="sm" variant="light" color={SESSION_STATE_COLOR[s.state]}>
                {s.state}
              </Badge>
            </Fact>
            <Fact label="Started">{formatDateTime(s.startedAt)}</Fact>
            <Fact label="Ended">{formatDateTime(s.endedAt)}</Fact>
            <Fact label="Duration">{formatDuration(s.durationSeconds)}</Fact>
            <Fact label="Traffic">
              {formatBytes(s.bytesIn)} in · {formatBytes(s.bytesOut)} out
            </Fact>
            <Fact label="Command">{s.command ? <Code>{s.command}</Code> : 'interactive shell'}</Fact>
            <Fact label="Session ID">
              <Text size="xs" className="pc-mono" style={{ wordBreak: 'break-all' }}>
                {s.id}
              </Text>
            </Fact>
            {s.endMessage && (
              <div style={{ gridColumn: '1 / -1' }} data-testid="fact-end">
                <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
                  How it ended
                </Text>
                <Text size="sm">
                  {s.endMessage}
                  {s.terminatedBy && !s.endMessage.includes(s.terminatedBy) ? ` (terminated by ${s.terminatedBy})` : ''}
                </Text>
              </div>
            )}
          </SimpleGrid>
        ) : (
          <Skeleton h={90} />
        )}
      </Paper>

      {live && (
        <Alert color="blue" variant="light" icon={<IconEye />}>
          This session is still live: its recording is sealed when it ends. Watch it live meanwhile.
        </Alert>
      )}
      {s && !live && !s.recorded && (
        <Alert color="gray" variant="light" icon={<IconAlert />}>
          This session has no recording (it never reached the asset).
        </Alert>
      )}
      {recorded && recording.isError && <ProblemAlert error={recording.error} title="The recording could not be loaded" />}
      {recorded && recording.isPending && <Skeleton h={360} />}
      {recorded && recording.data !== undefined && (s?.protocol === 'vnc' || s?.protocol === 'rdp' ? <GuacPlayer text={recording.data} /> : <RecordingPlayer text={recording.data} />)}
      {recorded && verify.data?.ok && (
        <Group gap={6} mt="xs">
          <IconCheck size={14} />
          <Text size="xs" c="dimmed">
            What you see is the sealed recording; viewing it is recorded in the audit log.
          </Text>
        </Group>
      )}
    </>
  );
}
