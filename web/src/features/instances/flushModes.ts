import type { FlushMode } from '../../api/types';

/** The flush modes with the one-line explanation the wizard shows. */
export const flushModes: { value: FlushMode; label: string; help: string }[] = [
  {
    value: 'async',
    label: 'Asynchronous',
    help: 'Acknowledges a send once the message is in memory and flushes to disk in the background: fastest, may lose the last moments of messages on a power cut.',
  },
  {
    value: 'sync',
    label: 'Synchronous',
    help: 'Acknowledges a send only after the message is on disk: no loss on a crash, at lower throughput and higher latency.',
  },
];
