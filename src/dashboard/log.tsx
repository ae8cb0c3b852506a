// The guest's console log, followed live (the last 256 KiB kept on the page).
import { useEffect, useRef, useState } from 'preact/hooks';
import { stream } from './api.js';
import { ApiError, errorText, missingText } from './api-errors.js';

const KEEP = 256 * 1024;

export function LogTab({ name }: { name: string }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [follow, setFollow] = useState(true);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const ctl = new AbortController();
    let buf = '';
    stream(
      `/1.0/guests/${encodeURIComponent(name)}/log?follow=1`,
      (chunk) => {
        buf = (buf + chunk).slice(-KEEP);
        setText(buf);
      },
      ctl.signal,
      'text/plain',
    ).catch((e) => setError(e instanceof ApiError && e.missingRoute ? missingText('Following the log') : errorText(e)));
    return () => ctl.abort();
  }, [name]);
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [text, follow]);
  return (
    <section aria-label="log">
      <label>
        <input type="checkbox" checked={follow} onChange={() => setFollow(!follow)} /> Keep the newest line in view
      </label>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <pre ref={pre} class="log" tabIndex={0} role="region" aria-label={`log of ${name}`}>
        {text}
      </pre>
    </section>
  );
}
