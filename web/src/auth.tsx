import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { ApiClient } from './api/client';

const STORAGE_KEY = 'tickforge.apiKey';

interface Auth {
  api: ApiClient | null;
  login: (key: string) => void;
  logout: () => void;
}

const AuthContext = createContext<Auth>({ api: null, login: () => {}, logout: () => {} });

export function readStoredKey(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [key, setKey] = useState<string | null>(readStoredKey);
  const login = useCallback((k: string) => {
    sessionStorage.setItem(STORAGE_KEY, k);
    setKey(k);
  }, []);
  const logout = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setKey(null);
  }, []);
  const value = useMemo(() => ({ api: key ? new ApiClient(key) : null, login, logout }), [
    key,
    login,
    logout,
  ]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export const useAuth = (): Auth => useContext(AuthContext);

/** The API client of the logged-in user (pages are only rendered behind RequireAuth). */
export function useApi(): ApiClient {
  const { api } = useAuth();
  if (!api) throw new Error('useApi outside an authenticated page');
  return api;
}
