import { useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { meKey } from '../api/queries/keys';
import { getSession, refreshSession, subscribeSession, type EndReason } from '../api/session';

export type AuthStatus = 'loading' | 'authenticated' | 'anonymous';

interface AuthState {
  status: AuthStatus;
  /** Set when a session ended while the page was open. */
  ended?: EndReason;
}

const AuthContext = createContext<AuthState>({ status: 'loading' });

/**
 * Tracks whether there is a session. On load it tries the refresh cookie
 * once; afterwards the session module tells it when a login starts a session
 * or a failed refresh (or logout) ends it.
 */
export function AuthProvider(props: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<AuthState>(() => ({ status: getSession() ? 'authenticated' : 'loading' }));

  useEffect(() => {
    const unsubscribe = subscribeSession((s, reason) =>
      setState(s ? { status: 'authenticated' } : { status: 'anonymous', ended: reason }),
    );
    if (!getSession()) {
      void refreshSession().then((s) => {
        if (s) queryClient.setQueryData(meKey, { user: s.user, account: s.account });
        else setState({ status: 'anonymous' });
      });
    }
    return unsubscribe;
  }, [queryClient]);

  return <AuthContext.Provider value={state}>{props.children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  return useContext(AuthContext);
}
