import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes } from 'react-router-dom';
import { AdminOnly } from './auth/AdminOnly';
import { LoginPage } from './auth/LoginPage';
import { FullPageLoader, RequireAuth } from './auth/RequireAuth';
import { StaffOnly } from './auth/StaffOnly';
import { AppLayout } from './layout/AppLayout';
import { NotFoundPage } from './layout/NotFoundPage';

const DashboardPage = lazy(() => import('./dashboard/DashboardPage').then((m) => ({ default: m.DashboardPage })));
const SitesPage = lazy(() => import('./sites/SitesPage').then((m) => ({ default: m.SitesPage })));
const SiteDetailPage = lazy(() => import('./sites/SiteDetailPage').then((m) => ({ default: m.SiteDetailPage })));
const AssetsPage = lazy(() => import('./assets/AssetsPage').then((m) => ({ default: m.AssetsPage })));
const UsersPage = lazy(() => import('./users/UsersPage').then((m) => ({ default: m.UsersPage })));
const GroupsPage = lazy(() => import('./groups/GroupsPage').then((m) => ({ default: m.GroupsPage })));
const PolicyPage = lazy(() => import('./policy/PolicyPage').then((m) => ({ default: m.PolicyPage })));
const ProfilePage = lazy(() => import('./profile/ProfilePage').then((m) => ({ default: m.ProfilePage })));
const SecuritySettingsPage = lazy(() => import('./system/SecuritySettingsPage').then((m) => ({ default: m.SecuritySettingsPage })));
const LoginMessagePage = lazy(() => import('./system/LoginMessagePage').then((m) => ({ default: m.LoginMessagePage })));
const OversightPage = lazy(() => import('./system/OversightPage').then((m) => ({ default: m.OversightPage })));
const AuditPage = lazy(() => import('./audit/AuditPage').then((m) => ({ default: m.AuditPage })));
const TokensPage = lazy(() => import('./system/TokensPage').then((m) => ({ default: m.TokensPage })));
const DomainsPage = lazy(() => import('./system/DomainsPage').then((m) => ({ default: m.DomainsPage })));
const EmailSettingsPage = lazy(() => import('./system/EmailSettingsPage').then((m) => ({ default: m.EmailSettingsPage })));
const WebhooksPage = lazy(() => import('./system/WebhooksPage').then((m) => ({ default: m.WebhooksPage })));
const AssetDetailPage = lazy(() => import('./assets/AssetDetailPage').then((m) => ({ default: m.AssetDetailPage })));
const ActiveSessionsPage = lazy(() => import('./sessions/SessionListPages').then((m) => ({ default: m.ActiveSessionsPage })));
const HistoryPage = lazy(() => import('./sessions/SessionListPages').then((m) => ({ default: m.HistoryPage })));
const PlaybackPage = lazy(() => import('./sessions/PlaybackPage').then((m) => ({ default: m.PlaybackPage })));
const TerminalPage = lazy(() => import('./sessions/TerminalPages').then((m) => ({ default: m.TerminalPage })));
const WatchPage = lazy(() => import('./sessions/TerminalPages').then((m) => ({ default: m.WatchPage })));
const MyAccessPage = lazy(() => import('./requests/RequestPages').then((m) => ({ default: m.MyAccessPage })));
const InboxPage = lazy(() => import('./requests/RequestPages').then((m) => ({ default: m.InboxPage })));
const RequestsPage = lazy(() => import('./requests/RequestPages').then((m) => ({ default: m.RequestsPage })));
const RequestDetailPage = lazy(() => import('./requests/RequestPages').then((m) => ({ default: m.RequestDetailPage })));

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      {/* Terminals fill the window (no navigation around them) and open in tabs of their own. */}
      <Route
        path="/sessions/new"
        element={
          <RequireAuth>
            <Suspense fallback={<FullPageLoader />}>
              <TerminalPage />
            </Suspense>
          </RequireAuth>
        }
      />
      <Route
        path="/sessions/:sessionId/watch"
        element={
          <RequireAuth>
            <Suspense fallback={<FullPageLoader />}>
              <WatchPage />
            </Suspense>
          </RequireAuth>
        }
      />
      <Route
        element={
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        }
      >
        <Route index element={<DashboardPage />} />
        <Route path="dashboard" element={<Navigate to="/" replace />} />
        <Route path="sites" element={<StaffOnly><SitesPage /></StaffOnly>} />
        <Route path="sites/:siteId" element={<StaffOnly><SiteDetailPage /></StaffOnly>} />
        <Route path="assets" element={<StaffOnly><AssetsPage /></StaffOnly>} />
        <Route path="assets/:assetId" element={<StaffOnly><AssetDetailPage /></StaffOnly>} />
        <Route path="sessions" element={<StaffOnly><ActiveSessionsPage /></StaffOnly>} />
        <Route path="sessions/history" element={<StaffOnly><HistoryPage /></StaffOnly>} />
        <Route path="sessions/:sessionId/play" element={<StaffOnly><PlaybackPage /></StaffOnly>} />
        <Route path="users" element={<StaffOnly><UsersPage /></StaffOnly>} />
        <Route path="groups" element={<StaffOnly><GroupsPage /></StaffOnly>} />
        <Route path="policy" element={<StaffOnly><PolicyPage /></StaffOnly>} />
        <Route path="access" element={<MyAccessPage />} />
        <Route path="requests" element={<StaffOnly><RequestsPage /></StaffOnly>} />
        <Route path="requests/inbox" element={<InboxPage />} />
        <Route path="requests/:requestId" element={<RequestDetailPage />} />
        <Route path="profile" element={<ProfilePage />} />
        <Route path="system" element={<Navigate to="/system/security" replace />} />
        <Route path="system/security" element={<AdminOnly><SecuritySettingsPage /></AdminOnly>} />
        <Route path="system/login-message" element={<AdminOnly><LoginMessagePage /></AdminOnly>} />
        <Route path="system/oversight" element={<AdminOnly><OversightPage /></AdminOnly>} />
        <Route path="system/audit" element={<AdminOnly><AuditPage /></AdminOnly>} />
        <Route path="system/tokens" element={<AdminOnly><TokensPage /></AdminOnly>} />
        <Route path="system/domains" element={<AdminOnly><DomainsPage /></AdminOnly>} />
        <Route path="system/email" element={<AdminOnly><EmailSettingsPage /></AdminOnly>} />
        <Route path="system/webhooks" element={<AdminOnly><WebhooksPage /></AdminOnly>} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
