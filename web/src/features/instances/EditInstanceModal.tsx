import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Form, Input, InputNumber, Modal } from 'antd';
import { useState } from 'react';
import { updateInstanceMutation } from '../../api/queries/instances';
import type { Instance, UpdateInstanceBody } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';

interface Values {
  instanceName: string;
  messageRetentionHours: number;
  remark: string;
}

const fields = ['instanceName', 'messageRetentionHours', 'remark'] as const;

/** Only what changed goes into the PATCH, so it never undoes someone else's edit. */
export function changedFields(i: Instance, v: Values): UpdateInstanceBody {
  const body: UpdateInstanceBody = {};
  const name = v.instanceName.trim();
  if (name !== i.instanceName) body.instanceName = name;
  const remark = (v.remark ?? '').trim();
  if (remark !== (i.remark ?? '')) body.remark = remark;
  if (v.messageRetentionHours !== i.messageRetentionHours) body.messageRetentionHours = v.messageRetentionHours;
  return body;
}

export function EditInstanceModal(props: { instance: Instance; open: boolean; onClose: () => void; onSaved?: () => void }) {
  const [form] = Form.useForm<Values>();
  const queryClient = useQueryClient();
  const update = useMutation(updateInstanceMutation(queryClient));
  const [problem, setProblem] = useState<unknown>(null);
  const i = props.instance;

  const close = () => {
    setProblem(null);
    props.onClose();
  };

  const onFinish = (v: Values) => {
    setProblem(null);
    const body = changedFields(i, v);
    if (Object.keys(body).length === 0) {
      close();
      return;
    }
    update.mutate(
      { instanceId: i.instanceId, body },
      {
        onSuccess: () => {
          close();
          props.onSaved?.();
        },
        onError: (e) => setProblem(applyProblemToForm(form, e, fields)),
      },
    );
  };

  return (
    <Modal
      title="Edit instance"
      open={props.open}
      onCancel={close}
      onOk={() => form.submit()}
      okText="Save"
      confirmLoading={update.isPending}
      destroyOnHidden
      mask={{ closable: false }}
    >
      <ProblemAlert error={problem} />
      <Form<Values>
        form={form}
        layout="vertical"
        preserve={false}
        onFinish={onFinish}
        initialValues={{ instanceName: i.instanceName, messageRetentionHours: i.messageRetentionHours, remark: i.remark ?? '' }}
      >
        <Form.Item name="instanceName" label="Name" rules={[{ required: true, whitespace: true, message: 'Name the instance' }]}>
          <Input autoComplete="off" maxLength={64} />
        </Form.Item>
        <Form.Item
          name="messageRetentionHours"
          label="Message retention (hours)"
          extra="A shorter retention deletes older messages at the next cleanup."
          rules={[{ required: true, message: 'Set the retention' }]}
        >
          <InputNumber min={1} max={720} precision={0} suffix="hours" style={{ width: 220 }} />
        </Form.Item>
        <Form.Item name="remark" label="Remark">
          <Input.TextArea rows={2} maxLength={256} showCount />
        </Form.Item>
      </Form>
    </Modal>
  );
}
