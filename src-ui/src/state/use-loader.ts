// Load something for a screen: data, error and loading flag, and a reload
// that keeps the old data on screen while the new arrives (no flicker).

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { toApiError, type ApiError } from '../lib/api-error';
import { arrivals } from './arrivals';

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => Promise<void>;
}

export interface LoaderOptions {
  /** Load again when records arrive from other devices (see `arrivals`). */
  live?: boolean;
}

export function useLoader<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  options: LoaderOptions = {},
): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine === seq.current) {
        setData(value);
        setError(null);
      }
    } catch (e) {
      if (mine === seq.current) setError(toApiError(e));
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void reload();
  }, deps);

  // Read only when live, so other screens do not re-render on arrivals.
  const arrived = options.live ? arrivals.value : 0;
  const seen = useRef(arrived);
  useEffect(() => {
    if (arrived === seen.current) return;
    seen.current = arrived;
    void reload();
  }, [arrived]);

  return { data, error, loading, reload };
}
