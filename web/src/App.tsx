import { lazy, Suspense, useEffect, useRef, type ReactNode } from 'react';
import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router-dom';
import { useAuth } from './auth';
import { Loading } from './components/Status';
import { LoginPage } from './pages/Login';

// Pages load on demand so the first load stays small.
const DataPage = lazy(() => import('./pages/Data'));
const BacktestsPage = lazy(() => import('./pages/Backtests'));
const BacktestNewPage = lazy(() => import('./pages/BacktestNew'));
const BacktestDetailPage = lazy(() => import('./pages/BacktestDetail'));
const ComparePage = lazy(() => import('./pages/Compare'));
const SweepsPage = lazy(() => import('./pages/Sweeps'));
const SweepDetailPage = lazy(() => import('./pages/SweepDetail'));
const PaperPage = lazy(() => import('./pages/Paper'));

function RequireAuth({ children }: { children: ReactNode }) {
  const { api } = useAuth();
  const location = useLocation();
  if (!api) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return <>{children}</>;
}

const NAV = [
  ['/data', 'Data'],
  ['/backtests', 'Backtests'],
  ['/sweeps', 'Sweeps'],
  ['/paper', 'Paper trading'],
] as const;

/** After an in-app navigation, move focus to the main region (screen readers, keyboard). */
function useFocusMainOnNavigate() {
  const main = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current || pathname === '/login') {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [pathname]);
  return main;
}

function Shell({ children }: { children: ReactNode }) {
  const { api, logout } = useAuth();
  const main = useFocusMainOnNavigate();
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">tickforge</span>
        {api && (
          <nav aria-label="main">
            {NAV.map(([to, label]) => (
              <NavLink key={to} to={to}>
                {label}
              </NavLink>
            ))}
          </nav>
        )}
        {api && (
          <button type="button" className="link" onClick={logout}>
            Log out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1} ref={main}>
        {children}
      </main>
      <footer>
        Charts by{' '}
        <a href="https://www.tradingview.com/" target="_blank" rel="noreferrer">
          TradingView Lightweight Charts™
        </a>{' '}
        — Copyright © 2025 TradingView, Inc.
      </footer>
    </>
  );
}

const guarded = (node: ReactNode) => <RequireAuth>{node}</RequireAuth>;

export function App() {
  return (
    <Shell>
      <Suspense fallback={<Loading />}>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route path="/data" element={guarded(<DataPage />)} />
          <Route path="/backtests" element={guarded(<BacktestsPage />)} />
          <Route path="/backtests/new" element={guarded(<BacktestNewPage />)} />
          <Route path="/backtests/compare" element={guarded(<ComparePage />)} />
          <Route path="/backtests/:id" element={guarded(<BacktestDetailPage />)} />
          <Route path="/sweeps" element={guarded(<SweepsPage />)} />
          <Route path="/sweeps/:id" element={guarded(<SweepDetailPage />)} />
          <Route path="/paper" element={guarded(<PaperPage />)} />
          <Route path="/" element={<Navigate to="/data" replace />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </Suspense>
    </Shell>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <NavLink to="/data">Go to the data page</NavLink>
      </p>
    </section>
  );
}
