import type { QueryClient } from '@tanstack/react-query';
import { api, must } from '../client';
import { clearSession, setSession } from '../session';
import type { LoginBody, SessionResponse, SignupBody } from '../types';
import { meKey } from './keys';

function startSession(queryClient: QueryClient, s: SessionResponse) {
  // A new identity: drop whatever the previous one had cached.
  queryClient.clear();
  setSession(s);
  queryClient.setQueryData(meKey, { user: s.user, account: s.account });
}

export function signupMutation(queryClient: QueryClient) {
  return {
    mutationFn: async (body: SignupBody) => must(await api.POST('/api/v1/auth/signup', { body })),
    onSuccess: (s: SessionResponse) => startSession(queryClient, s),
  };
}

export function loginMutation(queryClient: QueryClient) {
  return {
    mutationFn: async (body: LoginBody) => must(await api.POST('/api/v1/auth/login', { body })),
    onSuccess: (s: SessionResponse) => startSession(queryClient, s),
  };
}

export function logoutMutation(queryClient: QueryClient) {
  return {
    mutationFn: async () => {
      await api.POST('/api/v1/auth/logout');
    },
    // Forget the session locally even when the server call failed: the user
    // asked to leave, and the access token dies with the page anyway.
    onSettled: () => {
      clearSession('logout');
      queryClient.clear();
    },
  };
}
