import { ArrowLeftOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Card,
  Descriptions,
  Flex,
  Form,
  Input,
  InputNumber,
  Radio,
  Space,
  Statistic,
  Steps,
  Typography,
} from 'antd';
import { useEffect, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { createInstanceMutation, specsQuery } from '../../api/queries/instances';
import type { CreateInstanceBody, FlushMode, Spec } from '../../api/types';
import { applyProblemToForm } from '../../components/formErrors';
import { PageHeader } from '../../components/PageHeader';
import { ProblemAlert } from '../../components/ProblemAlert';
import { QueryError } from '../../components/QueryError';
import { useIdempotencyKey } from '../../components/useIdempotencyKey';
import { formatCount, formatPerHour, formatPerMonth, formatUsd } from '../../lib/money';
import { flushModes } from './flushModes';
import { SpecTable } from './SpecTable';

interface Values {
  specCode?: string;
  instanceName: string;
  messageRetentionHours: number;
  flushMode: FlushMode;
  remark?: string;
}

export const defaultRetentionHours = 72;

// Which step holds each field, to go back to it when the server rejects it.
const fieldStep: Record<string, number> = {
  specCode: 0,
  instanceName: 1,
  messageRetentionHours: 1,
  flushMode: 1,
  remark: 1,
};
const fields = Object.keys(fieldStep);

const stepFields: (keyof Values)[][] = [['specCode'], ['instanceName', 'messageRetentionHours', 'flushMode', 'remark']];

function retentionText(h: number | undefined): string {
  if (!h) return '—';
  if (h % 24 === 0) return `${h} hours (${h / 24} day${h === 24 ? '' : 's'})`;
  return `${h} hours`;
}

export function CreateInstancePage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<Values>();
  const specs = useQuery(specsQuery());
  const [step, setStep] = useState(0);
  const [problem, setProblem] = useState<unknown>(null);
  // One key for this wizard: a double click or a retry after a network error
  // sends the same key, so the server creates one instance.
  const idem = useIdempotencyKey();
  const create = useMutation(createInstanceMutation(queryClient));

  const specList = specs.data?.items ?? [];
  const specCode = Form.useWatch('specCode', form);
  const values = Form.useWatch([], form) as Partial<Values> | undefined;
  const spec: Spec | undefined = specList.find((s) => s.specCode === specCode);

  // Start with the first (smallest) spec chosen.
  useEffect(() => {
    if (!form.getFieldValue('specCode') && specList[0]) form.setFieldValue('specCode', specList[0].specCode);
  }, [form, specList]);

  const next = async () => {
    try {
      await form.validateFields(stepFields[step]);
      setStep((s) => s + 1);
    } catch {
      // the fields show what is wrong
    }
  };

  const submit = () => {
    if (create.isPending) return;
    const v = form.getFieldsValue(true) as Values;
    setProblem(null);
    const body: CreateInstanceBody = {
      instanceName: v.instanceName.trim(),
      specCode: v.specCode ?? '',
      messageRetentionHours: v.messageRetentionHours,
      flushMode: v.flushMode,
      remark: (v.remark ?? '').trim(),
    };
    create.mutate(
      { body, idempotencyKey: idem.key },
      {
        onSuccess: (created) => {
          idem.settle(null);
          navigate(`/instances/${created.instanceId}`);
        },
        onError: (e) => {
          idem.settle(e);
          const rest = applyProblemToForm(form, e, fields);
          const bad = form.getFieldsError().filter((f) => f.errors.length > 0).map((f) => fieldStep[String(f.name[0])] ?? 2);
          if (bad.length > 0) setStep(Math.min(...bad));
          setProblem(rest);
        },
      },
    );
  };

  return (
    <>
      <PageHeader
        title="Create instance"
        description="A RocketMQ 5 instance with its own endpoint. Choose its size, then how it stores messages."
        extra={
          <Link to="/instances">
            <Button icon={<ArrowLeftOutlined />}>Back to instances</Button>
          </Link>
        }
      />
      <Card>
        <Steps
          current={step}
          style={{ marginBottom: 24 }}
          items={[{ title: 'Spec' }, { title: 'Settings' }, { title: 'Review' }]}
        />
        <ProblemAlert error={problem} onClose={() => setProblem(null)} />
        <Form<Values>
          form={form}
          layout="vertical"
          requiredMark="optional"
          initialValues={{ messageRetentionHours: defaultRetentionHours, flushMode: 'async', remark: '' }}
        >
          <div hidden={step !== 0}>
            {specs.isError ? (
              <QueryError error={specs.error} what="the spec catalogue" onRetry={() => void specs.refetch()} />
            ) : (
              <Form.Item
                name="specCode"
                label="Spec"
                extra="Each spec limits messages per second (send + receive), topics and consumer groups; prices are per instance."
                rules={[{ required: true, message: 'Choose a spec' }]}
              >
                <SpecTable specs={specList} loading={specs.isLoading} />
              </Form.Item>
            )}
          </div>
          <div hidden={step !== 1} style={{ maxWidth: 640 }}>
            <Form.Item
              name="instanceName"
              label="Instance name"
              extra="Shown in the console and on bills; you can rename it later."
              rules={[{ required: true, whitespace: true, message: 'Name the instance' }]}
            >
              <Input autoComplete="off" maxLength={64} placeholder="e.g. orders-prod" />
            </Form.Item>
            <Form.Item
              name="messageRetentionHours"
              label="Message retention (hours)"
              extra="How long messages stay stored after they were sent, whether consumed or not."
              rules={[{ required: true, message: 'Set the retention' }]}
            >
              <InputNumber min={1} max={720} precision={0} suffix="hours" style={{ width: 220 }} />
            </Form.Item>
            <Form.Item name="flushMode" label="Flush mode" rules={[{ required: true }]}>
              <Radio.Group>
                <Space orientation="vertical">
                  {flushModes.map((m) => (
                    <Radio key={m.value} value={m.value}>
                      <Typography.Text strong>{m.label}</Typography.Text>
                      <br />
                      <Typography.Text type="secondary">{m.help}</Typography.Text>
                    </Radio>
                  ))}
                </Space>
              </Radio.Group>
            </Form.Item>
            <Form.Item name="remark" label="Remark">
              <Input.TextArea rows={2} maxLength={256} showCount placeholder="What this instance is for" />
            </Form.Item>
          </div>
          {step === 2 && (
            <Review spec={spec} values={values} />
          )}
          <Flex justify="space-between" style={{ marginTop: 24 }}>
            <Button onClick={() => (step === 0 ? navigate('/instances') : setStep(step - 1))}>
              {step === 0 ? 'Cancel' : 'Previous'}
            </Button>
            {step < 2 ? (
              <Button type="primary" onClick={() => void next()} disabled={step === 0 && !specCode}>
                Next
              </Button>
            ) : (
              <Button type="primary" onClick={submit} loading={create.isPending}>
                Create instance
              </Button>
            )}
          </Flex>
        </Form>
      </Card>
    </>
  );
}

function Review(props: { spec: Spec | undefined; values: Partial<Values> | undefined }) {
  const { spec, values: v } = props;
  const flush = flushModes.find((m) => m.value === v?.flushMode);
  return (
    <Flex gap={24} wrap align="flex-start">
      <Descriptions
        bordered
        size="small"
        column={1}
        style={{ flex: '1 1 480px' }}
        items={[
          { key: 'name', label: 'Name', children: v?.instanceName?.trim() || '—' },
          { key: 'spec', label: 'Spec', children: spec ? `${spec.specCode} (${spec.edition})` : v?.specCode },
          {
            key: 'quota',
            label: 'Limits',
            children: spec
              ? `${formatCount(spec.maxTps)} TPS · ${formatCount(spec.maxTopics)} topics · ${formatCount(spec.maxGroups)} groups · ${formatCount(spec.storageGb)} GB storage`
              : '—',
          },
          { key: 'retention', label: 'Message retention', children: retentionText(v?.messageRetentionHours) },
          { key: 'flush', label: 'Flush mode', children: flush?.label ?? v?.flushMode },
          { key: 'remark', label: 'Remark', children: v?.remark?.trim() || '—' },
        ]}
      />
      <Card size="small" style={{ flex: '0 1 300px', background: '#fafafa' }}>
        <Statistic title="Estimated price" value={spec ? formatPerMonth(spec.pricePerMonth) : '—'} data-testid="review-price" />
        {spec && (
          <Typography.Paragraph type="secondary" style={{ margin: '8px 0 0', fontSize: 12 }}>
            {formatPerHour(spec.pricePerHour)} × 730 hours. Requests beyond the spec cost{' '}
            {formatUsd(spec.pricePerMillionRequests)} per million and storage beyond {formatCount(spec.storageGb)} GB{' '}
            {formatUsd(spec.pricePerGbHour)} per GB-hour.
          </Typography.Paragraph>
        )}
      </Card>
    </Flex>
  );
}
