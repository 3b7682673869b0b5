import { lazy } from 'react';
import { Navigate, Route, Routes } from 'react-router-dom';
import { LoginPage } from './auth/LoginPage';
import { RequireAuth } from './auth/RequireAuth';
import { StaffOnly } from './auth/StaffOnly';
import { AppLayout } from './layout/AppLayout';
import { NotFoundPage } from './layout/NotFoundPage';

const DashboardPage = lazy(() => import('./dashboard/DashboardPage').then((m) => ({ default: m.DashboardPage })));
const SitesPage = lazy(() => import('./sites/SitesPage').then((m) => ({ default: m.SitesPage })));
const SiteDetailPage = lazy(() => import('./sites/SiteDetailPage').then((m) => ({ default: m.SiteDetailPage })));
const AssetsPage = lazy(() => import('./assets/AssetsPage').then((m) => ({ default: m.AssetsPage })));
const UsersPage = lazy(() => import('./users/UsersPage').then((m) => ({ default: m.UsersPage })));

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
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
        <Route path="users" element={<StaffOnly><UsersPage /></StaffOnly>} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
