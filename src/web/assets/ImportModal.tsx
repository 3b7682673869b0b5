import { Anchor, Code, FileInput, Group, Table, Text } from '@mantine/core';
import { type FormEvent, useEffect, useState } from 'react';
import { request } from '../api/client';
import { useApiMutation } from '../api/hooks';
import type { ImportResult } from '../api/types';
import { ProblemAlert } from '../common/errors';
import { FormFooter, FormModal } from '../common/forms';
import { IconDownload, IconUpload } from '../common/icons';

const MAX_BYTES = 20 * 1024 * 1024;

const COLUMNS: [string, string][] = [
  ['name', 'required, unique asset name'],
  ['site', 'required, name of an existing site'],
  ['zone', 'optional, zone name within that site'],
  ['purdue_level', '0, 1, 2, 3, 3.5, 4 or 5; required without a zone'],
  ['host', 'required, IP address or DNS name'],
  ['access_methods', 'required, e.g. ssh:22;rdp:3389 (port optional for ssh/telnet/vnc/rdp)'],
  ['tags', 'optional, separated by ; e.g. line3;s7'],
  ['safety_critical', 'yes or no'],
  ['vendor, model, firmware, description', 'optional text'],
];

const TEMPLATE =
  'name,site,zone,purdue_level,host,access_methods,tags,safety_critical,vendor,model,firmware,description\r\n' +
  'PLC-Line3-01,Example Plant,,1,10.10.3.11,ssh:22;tcp:502,line3;plc,yes,Siemens,S7-1500,V2.9,Line 3 main PLC\r\n' +
  'HMI-Line3,Example Plant,,2,10.10.3.20,vnc:5900;rdp:3389,line3;hmi,no,,,,Operator panel\r\n';

function downloadTemplate() {
  const url = URL.createObjectURL(new Blob([TEMPLATE], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'portcullis-assets-template.csv';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

interface Props {
  opened: boolean;
  onClose: () => void;
  onImported: (result: ImportResult) => void;
}

export function ImportModal({ opened, onClose, onImported }: Props) {
  const [file, setFile] = useState<File | null>(null);
  const [localError, setLocalError] = useState<string | null>(null);
  const upload = useApiMutation(
    (csv: string) => request<ImportResult>('POST', '/assets/import', { text: { body: csv, contentType: 'text/csv' } }),
    ['assets'],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: reset whenever it opens
  useEffect(() => {
    if (!opened) return;
    setFile(null);
    setLocalError(null);
    upload.reset();
  }, [opened]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    setLocalError(null);
    if (file.size > MAX_BYTES) {
      setLocalError(`The file is ${(file.size / 1048576).toFixed(1)} MB; split it into files under ${MAX_BYTES / 1048576} MB.`);
      return;
    }
    let text: string;
    try {
      text = await file.text();
    } catch {
      setLocalError('The file could not be read.');
      return;
    }
    upload.mutate(text, {
      onSuccess: (result) => {
        onImported(result);
        onClose();
      },
    });
  }

  return (
    <FormModal opened={opened} onClose={onClose} title="Import assets from CSV" size="xl" testId="import-form" onSubmit={submit}>
      <Text size="sm">
        Imported assets land in the <b>Imported</b> list and are not reachable until an administrator reviews and activates
        them. The whole file is checked first: if any row is wrong, nothing is imported and every problem is listed.
      </Text>
      <Table withTableBorder withColumnBorders fz="xs" verticalSpacing={4}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Column</Table.Th>
            <Table.Th>Content</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {COLUMNS.map(([c, d]) => (
            <Table.Tr key={c}>
              <Table.Td>
                <Code>{c}</Code>
              </Table.Td>
              <Table.Td>{d}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Group gap="xs">
        <Anchor component="button" type="button" size="sm" onClick={downloadTemplate}>
          <Group gap={4}>
            <IconDownload size={14} /> Download a template
          </Group>
        </Anchor>
        <Text size="xs" c="dimmed">
          UTF-8, comma separated, first line names the columns.
        </Text>
      </Group>
      <FileInput
        label="CSV file"
        placeholder="Choose a .csv file"
        accept=".csv,text/csv"
        clearable
        value={file}
        onChange={(f) => {
          setFile(f);
          upload.reset();
          setLocalError(null);
        }}
        leftSection={<IconUpload size={16} />}
        error={localError}
        data-testid="import-file"
      />
      <ProblemAlert error={upload.error} title="Nothing was imported" />
      <FormFooter
        onCancel={onClose}
        saving={upload.isPending}
        disabled={!file}
        submitIcon={<IconUpload size={16} />}
        submitTestId="import-submit"
        submitLabel="Import"
      />
    </FormModal>
  );
}
