import type { MessageType } from '../../api/types';

export const messageTypes: { value: MessageType; label: string; help: string }[] = [
  { value: 'NORMAL', label: 'Normal', help: 'Ordinary messages, no ordering guarantee.' },
  { value: 'FIFO', label: 'FIFO', help: 'Messages of one message group are delivered in order.' },
  { value: 'DELAY', label: 'Delay', help: 'Messages are delivered at a set time.' },
  { value: 'TRANSACTION', label: 'Transaction', help: 'Messages are committed or rolled back with a local transaction.' },
];

export function messageTypeLabel(t: string): string {
  return messageTypes.find((m) => m.value === t)?.label ?? t;
}
