// Loading state for one GraphQL query, re-run when its variables change or on `reload()`.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, gql } from './api';

export interface QueryState<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

/** Runs `query` with `variables` (compared by JSON); `skip` holds it back. */
export function useQuery<T>(query: string, variables: Record<string, unknown> = {}, { skip = false } = {}): QueryState<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({ data: null, error: null, loading: !skip });
  const [tick, setTick] = useState(0);
  const key = JSON.stringify(variables);
  const latest = useRef(0);
  useEffect(() => {
    if (skip) return;
    const id = ++latest.current;
    const aborter = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    gql<T>(query, JSON.parse(key) as Record<string, unknown>, aborter.signal).then(
      (data) => id === latest.current && setState({ data, error: null, loading: false }),
      (error: unknown) => {
        if ((error as Error).name === 'AbortError' || id !== latest.current) return;
        setState((previous) => ({ data: previous.data, error: error instanceof ApiError ? error : new ApiError(String(error), 'INTERNAL_SERVER_ERROR'), loading: false }));
      },
    );
    return () => aborter.abort();
  }, [query, key, tick, skip]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}
