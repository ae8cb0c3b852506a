// The console: an xterm.js terminal on an interactive exec (PTY) over the exec WebSocket. It
// resizes with the window and reattaches to the same shell after a dropped connection.
import { useEffect, useRef, useState } from 'preact/hooks';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { send } from './api.js';
import { ApiError, errorText, missingText } from './api-errors.js';
import { decodeFrame, parseControl, reconnectDelay, resizeMessage, shouldReconnect, stdinFrame } from './exec-frames.js';

type ConsoleState = 'connecting' | 'connected' | 'reconnecting' | 'exited' | 'failed';

export function Console({ name, running }: { name: string; running: boolean }) {
  const box = useRef<HTMLDivElement>(null);
  const [state, setState] = useState<ConsoleState>('connecting');
  const [message, setMessage] = useState<string | undefined>();
  const [session, setSession] = useState(0);
  const termRef = useRef<Terminal | null>(null);

  useEffect(() => {
    if (!running) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
      fontSize: 14,
      scrollback: 5000,
    });
    termRef.current = term;
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(box.current!);
    fit.fit();
    // Ctrl+Shift+C / Ctrl+Shift+V copy and paste, as in desktop terminals (Ctrl+C stays SIGINT)
    term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey) return true;
      if (e.code === 'KeyC') {
        void navigator.clipboard?.writeText(term.getSelection());
        return false;
      }
      if (e.code === 'KeyV') {
        void navigator.clipboard?.readText().then((t) => term.paste(t));
        return false;
      }
      return true;
    });
    let ws: WebSocket | undefined;
    let url: string | undefined;
    let exited = false;
    let closed = false;
    let attempts = 0;
    const sendText = (t: string) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(t);
    };
    const connect = () => {
      ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${url}`);
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => {
        attempts = 0;
        setState('connected');
        setMessage(undefined);
        sendText(resizeMessage(term.cols, term.rows));
        term.focus();
      };
      ws.onmessage = (m) => {
        if (typeof m.data === 'string') {
          const c = parseControl(m.data);
          if (c.type === 'exit') {
            exited = true;
            setState('exited');
            setMessage(`The shell exited with status ${c.code}.`);
          }
          return;
        }
        const f = decodeFrame(m.data as ArrayBuffer);
        if (f) term.write(f.data);
      };
      ws.onclose = (ev) => {
        if (closed || exited) return;
        if (shouldReconnect(ev.code, exited, attempts)) {
          setState('reconnecting');
          setMessage('Connection lost; reattaching to the same shell…');
          setTimeout(connect, reconnectDelay(attempts++));
        } else {
          setState('failed');
          setMessage(`The console closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}).`);
        }
      };
    };
    term.onData((d) => {
      if (ws?.readyState === WebSocket.OPEN) ws.send(stdinFrame(d));
    });
    term.onResize(({ cols, rows }) => sendText(resizeMessage(cols, rows)));
    const onWindow = () => fit.fit();
    window.addEventListener('resize', onWindow);
    const ro = new ResizeObserver(() => fit.fit());
    ro.observe(box.current!);
    setState('connecting');
    send<{ id: string; socket: string }>('POST', `/1.0/guests/${encodeURIComponent(name)}/exec`, {
      command: ['/bin/sh', '-l'],
      interactive: true,
      cols: term.cols,
      rows: term.rows,
      env: { TERM: 'xterm-256color' },
    }).then(
      (r) => {
        url = r.socket;
        if (!closed) connect();
      },
      (e) => {
        setState('failed');
        setMessage(e instanceof ApiError && e.missingRoute ? missingText('The console') : errorText(e));
      },
    );
    return () => {
      closed = true;
      window.removeEventListener('resize', onWindow);
      ro.disconnect();
      ws?.close(1000);
      term.dispose();
      termRef.current = null;
    };
  }, [name, running, session]);

  if (!running) return <p class="muted">The console needs the guest to run. Start it on the Overview tab.</p>;
  const copy = () => void navigator.clipboard?.writeText(termRef.current?.getSelection() ?? '');
  const paste = () => void navigator.clipboard?.readText().then((t) => termRef.current?.paste(t));
  return (
    <section aria-label="console" class="console">
      <div class="toolbar">
        <span role="status" data-testid="console-state" data-state={state}>
          {state}
        </span>
        {message ? <span class={state === 'failed' ? 'fail' : 'muted'}>{message}</span> : null}
        <span class="spacer" />
        <button type="button" onClick={copy} title="Ctrl+Shift+C">
          Copy
        </button>
        <button type="button" onClick={paste} title="Ctrl+Shift+V">
          Paste
        </button>
        {state === 'exited' || state === 'failed' ? (
          <button type="button" onClick={() => setSession(session + 1)}>
            New shell
          </button>
        ) : null}
      </div>
      <div ref={box} class="term" data-testid="terminal" />
    </section>
  );
}
