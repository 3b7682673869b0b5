import { Checkbox, Group, NumberInput, type NumberInputProps, SimpleGrid, Stack, Switch, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import { ROLES, type SecuritySettings } from '../api/types';
import { fieldErrors } from '../common/errors';
import { Section } from '../common/ui';
import { SettingsForm } from './SettingsForm';
import { useSettingsForm } from './useSettingsForm';

type NumKey = { [K in keyof SecuritySettings]: SecuritySettings[K] extends number ? K : never }[keyof SecuritySettings];
type OptionalNumKey = 'sessionIdleMinutes' | 'sessionLifetimeHours';
type BoolKey = { [K in keyof SecuritySettings]: SecuritySettings[K] extends boolean ? K : never }[keyof SecuritySettings];

const testId = (k: string) => `security-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** System Management -> Security: password policy, lockout, inactive accounts, second factor. */
export function SecuritySettingsPage() {
  const f = useSettingsForm<SecuritySettings>('/settings/security', 'security');
  const draft = f.draft;
  const fe = fieldErrors(f.save.error);

  /** A whole number setting; `onChange` stores what the field holds. */
  const wholeNumber = (k: NumKey | OptionalNumKey, label: string, description: ReactNode, min: number, max: number, suffix: string | undefined, rest: Pick<NumberInputProps, 'onChange' | 'placeholder'>) => (
    <NumberInput
      label={label}
      description={description}
      min={min}
      max={max}
      clampBehavior="strict"
      allowDecimal={false}
      allowNegative={false}
      suffix={suffix}
      value={draft?.[k] ?? ''}
      error={fe.get(`/${k}`)}
      data-testid={testId(k)}
      {...rest}
    />
  );
  const num = (k: NumKey, label: string, description: ReactNode, min: number, max: number, suffix?: string) =>
    wholeNumber(k, label, description, min, max, suffix, { onChange: (v) => f.set(k, typeof v === 'number' ? v : Number.parseInt(v || '0', 10) || 0) });
  /** A number that may be left empty to use the gateway's configured default. */
  const optionalNum = (k: OptionalNumKey, label: string, description: ReactNode, min: number, max: number, fallback: string, suffix: string) =>
    wholeNumber(k, label, description, min, max, suffix, {
      placeholder: `${fallback} (gateway default)`,
      onChange: (v) => f.set(k, v === '' ? null : typeof v === 'number' ? v : Number.parseInt(v, 10) || null),
    });
  const bool = (k: BoolKey, label: string, description: ReactNode) => (
    <Switch label={label} description={description} checked={draft?.[k] ?? false} onChange={(e) => f.set(k, e.currentTarget.checked)} data-testid={testId(k)} />
  );

  return (
    <SettingsForm
      form={f}
      testId="security-settings-form"
      title="Security settings"
      description="Password policy, account lockout and second-factor requirements for every local account. Changes apply at the next sign-in and are audited."
      saveTestId="security-save"
      discardTestId="security-discard"
      loadErrorTitle="Could not load the settings"
      saveErrorTitle="Settings not saved"
      inlinePaths={Object.keys(draft ?? {}).map((k) => `/${k}`)}
      savedText="Settings saved."
      savedTestId="security-saved"
      skeletonHeight={480}
    >
      {(d) => (
        <>
          <Section title="Passwords" description="Follows NIST SP 800-63B: long passwords and a blocklist rather than forced complexity and rotation." testId="security-passwords">
            <Stack gap="lg">
              <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg">
                {num('minPasswordLength', 'Minimum length', '8 to 128 characters; 12 or more recommended', 8, 128, ' characters')}
                {num('passwordHistory', 'Password history', 'Previous passwords that may not be reused (0 = off)', 0, 24)}
                {num('passwordExpirationDays', 'Password expiry', d.passwordExpirationDays === 0 ? 'Off: passwords do not expire (recommended)' : 'Days until a password must be changed (0 = off)', 0, 3650, ' days')}
              </SimpleGrid>
              <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg">
                {bool('blockCommonPasswords', 'Block common passwords', 'Refuse passwords from breach and dictionary lists')}
                {bool('enforceCharacterClasses', 'Require character classes', 'Upper and lower case, digits and symbols')}
                {bool('forcePasswordChange', 'Force change of admin-set passwords', 'Passwords set by an administrator must be changed at the next sign-in')}
              </SimpleGrid>
            </Stack>
          </Section>

          <Section title="Account lockout" description="Stops password guessing (IEC 62443-3-3 SR 1.11). Wrong second-factor codes count as failed attempts too." testId="security-lockout">
            <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg">
              {num('lockoutAttempts', 'Failed attempts before lockout', 'Consecutive failures, 1 to 100', 1, 100)}
              {num('lockoutMinutes', 'Lockout duration', 'Unlocks by itself after this time; an administrator can unlock earlier', 1, 10_080, ' minutes')}
              {num('disableInactiveDays', 'Disable inactive accounts', d.disableInactiveDays === 0 ? 'Off: inactive accounts stay enabled' : 'Days without a sign-in (0 = off)', 0, 3650, ' days')}
            </SimpleGrid>
          </Section>

          <Section title="Console sessions" description="Signed-in console sessions end after this much inactivity, and in any case after the lifetime (IEC 62443-3-3 SR 2.5, 2.6). A new lifetime applies to new sessions." testId="security-sessions">
            <SimpleGrid cols={{ base: 1, md: 3 }} spacing="lg">
              {optionalNum('sessionIdleMinutes', 'Idle timeout', 'Minutes without activity (empty = gateway default)', 1, 1440, '15', ' minutes')}
              {optionalNum('sessionLifetimeHours', 'Absolute lifetime', 'Hours after sign-in (empty = gateway default)', 1, 168, '12', ' hours')}
            </SimpleGrid>
          </Section>

          <Section title="Second factor" description="Who must confirm each sign-in with an authenticator app or a security key. Accounts without one enroll at their next sign-in." testId="security-mfa">
            <Stack gap="md">
              {bool('otpRequiredGlobal', 'Require a second factor for everyone', 'Every account, whatever its role or its own setting')}
              <Checkbox.Group
                label="Require it for these roles"
                description={d.otpRequiredGlobal ? 'Already required for everyone' : 'In addition to the accounts marked “Require a second factor”'}
                value={d.otpRequiredRoles}
                onChange={(v) => f.set('otpRequiredRoles', v as SecuritySettings['otpRequiredRoles'])}
                error={fe.get('/otpRequiredRoles')}
                data-testid="security-otp-required-roles"
              >
                <Group mt="xs" gap="lg">
                  {ROLES.map((r) => (
                    <Checkbox key={r} value={r} label={r} disabled={d.otpRequiredGlobal} data-testid={`security-otp-role-${r.toLowerCase()}`} />
                  ))}
                </Group>
              </Checkbox.Group>
              <Text size="xs" c="dimmed">
                Administrators and remote vendor access should always use a second factor (IEC 62443-3-3 SR 1.1 RE 2).
              </Text>
            </Stack>
          </Section>
        </>
      )}
    </SettingsForm>
  );
}
