import { Alert, Input, Modal, Typography } from 'antd';
import { useState } from 'react';
import type { Instance } from '../../api/types';
import { ProblemAlert } from '../../components/ProblemAlert';

/** Deleting needs the instance's name typed exactly (surrounding spaces aside). */
export function deleteConfirmed(typed: string, instanceName: string): boolean {
  return instanceName !== '' && typed.trim() === instanceName;
}

/**
 * Asks before deleting an instance: deleting throws away every message,
 * topic, group and access key, so the user types the name to go on.
 */
export function DeleteInstanceModal(props: {
  instance: Instance | null;
  onClose: () => void;
  onConfirm: (i: Instance) => Promise<unknown>;
}) {
  const [typed, setTyped] = useState('');
  const [pending, setPending] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const i = props.instance;
  const ok = !!i && deleteConfirmed(typed, i.instanceName);

  const close = () => {
    setTyped('');
    setProblem(null);
    props.onClose();
  };

  const confirm = async () => {
    if (!i || !ok || pending) return;
    setPending(true);
    setProblem(null);
    try {
      await props.onConfirm(i);
      setTyped('');
      props.onClose();
    } catch (e) {
      setProblem(e);
    } finally {
      setPending(false);
    }
  };

  return (
    <Modal
      title={i ? `Delete “${i.instanceName}”?` : 'Delete instance'}
      open={i !== null}
      onCancel={close}
      onOk={() => void confirm()}
      okText="Delete instance"
      okButtonProps={{ danger: true, disabled: !ok }}
      confirmLoading={pending}
      destroyOnHidden
      mask={{ closable: false }}
    >
      {i && (
        <>
          <ProblemAlert error={problem} />
          <Alert
            type="warning"
            showIcon
            style={{ marginBottom: 16 }}
            title="This cannot be undone"
            description="The instance stops, and its messages, topics, consumer groups and access keys are deleted. Clients using its endpoint will fail."
          />
          <label htmlFor="delete-instance-name">
            Type <Typography.Text code>{i.instanceName}</Typography.Text> to confirm:
          </label>
          <Input
            id="delete-instance-name"
            aria-label="Instance name to confirm"
            autoComplete="off"
            autoFocus
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            onPressEnter={() => void confirm()}
            style={{ marginTop: 8 }}
          />
        </>
      )}
    </Modal>
  );
}
