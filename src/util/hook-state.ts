// What a runtime hook script needs first: the guest's init pid from the state on its stdin.

/** Sets $pid from the runtime's state on stdin (one line of JSON), with the shell alone, or fails. */
export const PID_FROM_STATE = [
  'read -r state || [ -n "$state" ]',
  `key='"pid":'`,
  'case $state in *"$key"*) ;; *) echo "the runtime gave no init pid" >&2; exit 1;; esac',
  'pid=${state#*"$key"}; pid=${pid#"${pid%%[0-9]*}"}; pid=${pid%%[!0-9]*}',
  '[ -n "$pid" ] && [ "$pid" -gt 1 ] || { echo "the runtime gave no init pid" >&2; exit 1; }',
].join('\n');

/** The commands a hook may use, wherever the runtime was started from. */
export const HOOK_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/** Sets /proc/sys/user/NAME for each NAME=VALUE argument, in the user namespace the shell runs in; a count this kernel lacks is skipped. */
export const USER_COUNTS_LOOP = 'set -e; for kv; do f=/proc/sys/user/${kv%%=*}; if [ -e "$f" ]; then echo "${kv#*=}" > "$f"; fi; done';
