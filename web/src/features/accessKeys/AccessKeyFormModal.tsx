import { MinusCircleOutlined, PlusOutlined } from '@ant-design/icons';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, Flex, Form, Input, Modal, Select } from 'antd';
import { useState } from 'react';
import { createAccessKeyMutation, updateAccessKeyMutation } from '../../api/queries/accessKeys';
import type { AccessKey, AccessKeyPermission, CreatedAccessKey } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { ProblemAlert } from '../../components/ProblemAlert';

export interface AccessKeyValues {
  permissions: AccessKeyPermission[];
  sourceIps: string;
  remark: string;
}

const fields = ['permissions', 'sourceIps', 'remark'] as const;

export const defaultPermission: AccessKeyPermission = {
  resourceType: 'TOPIC',
  resourceName: '*',
  actions: ['PUB', 'SUB'],
  decision: 'ALLOW',
};

/** Source IPs are typed one per line or separated by commas. */
export function parseSourceIps(text: string): string[] {
  return (text ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function accessKeyBody(v: AccessKeyValues) {
  return {
    permissions: (v.permissions ?? []).map((p) => ({ ...p, resourceName: p.resourceName.trim() })),
    sourceIps: parseSourceIps(v.sourceIps),
    remark: (v.remark ?? '').trim(),
  };
}

/** The rows of resourceType / resourceName / actions / decision. */
function PermissionsEditor() {
  return (
    <Form.List name="permissions">
      {(rows, { add, remove }) => (
        <>
          {rows.map((row, i) => (
            <Flex key={row.key} gap={8} align="baseline" data-testid={`permission-${i}`}>
              <Form.Item name={[row.name, 'resourceType']} style={{ width: 110 }}>
                <Select
                  aria-label={`Resource type ${i + 1}`}
                  options={[
                    { value: 'TOPIC', label: 'Topic' },
                    { value: 'GROUP', label: 'Group' },
                  ]}
                />
              </Form.Item>
              <Form.Item
                name={[row.name, 'resourceName']}
                style={{ flex: 1 }}
                rules={[{ required: true, whitespace: true, message: 'A name, prefix* or *' }]}
              >
                <Input aria-label={`Resource name ${i + 1}`} placeholder="name, prefix* or *" autoComplete="off" />
              </Form.Item>
              <Form.Item
                name={[row.name, 'actions']}
                style={{ width: 150 }}
                rules={[{ required: true, type: 'array', min: 1, message: 'Pick an action' }]}
              >
                <Select
                  aria-label={`Actions ${i + 1}`}
                  mode="multiple"
                  options={[
                    { value: 'PUB', label: 'PUB' },
                    { value: 'SUB', label: 'SUB' },
                  ]}
                />
              </Form.Item>
              <Form.Item name={[row.name, 'decision']} style={{ width: 100 }}>
                <Select
                  aria-label={`Decision ${i + 1}`}
                  options={[
                    { value: 'ALLOW', label: 'Allow' },
                    { value: 'DENY', label: 'Deny' },
                  ]}
                />
              </Form.Item>
              <Button
                type="text"
                aria-label={`Remove permission ${i + 1}`}
                icon={<MinusCircleOutlined />}
                onClick={() => remove(row.name)}
              />
            </Flex>
          ))}
          <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ ...defaultPermission, resourceName: '' })}>
            Add permission
          </Button>
        </>
      )}
    </Form.List>
  );
}

/** Creates an access key (key null; answers with the secret) or edits one's permissions, IPs and remark. */
export function AccessKeyFormModal(props: {
  instanceId: string;
  open: boolean;
  accessKey: AccessKey | null;
  onClose: () => void;
  onCreated?: (k: CreatedAccessKey) => void;
  onSaved?: () => void;
}) {
  const [form] = Form.useForm<AccessKeyValues>();
  const queryClient = useQueryClient();
  const create = useMutation(createAccessKeyMutation(queryClient, props.instanceId));
  const update = useMutation(updateAccessKeyMutation(queryClient, props.instanceId));
  const [problem, setProblem] = useState<unknown>(null);
  const k = props.accessKey;

  const close = () => {
    setProblem(null);
    props.onClose();
  };
  const onError = (e: unknown) => setProblem(applyProblemToForm(form, e, fields));

  const onFinish = (v: AccessKeyValues) => {
    setProblem(null);
    const body = accessKeyBody(v);
    if (k) {
      update.mutate(
        { accessKey: k.accessKey, body },
        {
          onSuccess: () => {
            close();
            props.onSaved?.();
          },
          onError,
        },
      );
    } else {
      create.mutate(body, {
        onSuccess: (r) => {
          close();
          props.onCreated?.(r);
        },
        onError,
      });
    }
  };

  return (
    <Modal
      title={k ? `Edit access key ${k.accessKey}` : 'Create access key'}
      open={props.open}
      onCancel={close}
      onOk={() => form.submit()}
      okText={k ? 'Save' : 'Create access key'}
      confirmLoading={create.isPending || update.isPending}
      destroyOnHidden
      mask={{ closable: false }}
      width={720}
    >
      <ProblemAlert error={problem} />
      <Form<AccessKeyValues>
        form={form}
        layout="vertical"
        preserve={false}
        onFinish={onFinish}
        initialValues={
          k
            ? { permissions: k.permissions, sourceIps: k.sourceIps.join('\n'), remark: k.remark ?? '' }
            : { permissions: [defaultPermission, { ...defaultPermission, resourceType: 'GROUP', actions: ['SUB'] }], sourceIps: '', remark: '' }
        }
      >
        <Form.Item
          label="Permissions"
          extra="A name, “prefix*” or “*”. DENY beats ALLOW; without a matching ALLOW an action is refused."
        >
          <PermissionsEditor />
        </Form.Item>
        <Form.Item name="sourceIps" label="Source IPs" extra="IP addresses or CIDR prefixes, one per line; empty allows any address.">
          <Input.TextArea rows={2} autoComplete="off" />
        </Form.Item>
        <Form.Item name="remark" label="Remark">
          <Input.TextArea rows={2} maxLength={256} showCount />
        </Form.Item>
      </Form>
    </Modal>
  );
}
