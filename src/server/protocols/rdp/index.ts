/** RDP engine: a private Xvnc + xfreerdp per brokered session (see docs/rdp.md). */
export { AUTH_FAILED_MESSAGE, type ClientFacts, type ConnectionState, mapClientExit } from './exit.js';
export {
  fingerprintsEqual,
  normalizeCertFingerprint,
  probeRdpCertificate,
  type RdpCertificateInfo,
  type RdpProbeOptions,
  type RdpProbeResult,
  type RdpSecurity,
  type RdpSelectedProtocol,
} from './probe.js';
export { type RdpDisplay, type RdpDisplayOptions, type RdpEndInfo, startRdpDisplay } from './session.js';
export { ensureSystemUser, RDP_SYSTEM_USER, sessionRunAs } from './user.js';
export { DEFAULT_DISPLAY_RANGE } from './xserver.js';
