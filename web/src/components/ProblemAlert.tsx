import { Alert, Typography } from 'antd';
import { errorMessage, isApiError } from '../api/problem';

/**
 * Shows a failed call: the problem's title and detail, field errors that no
 * form field took, and the request id to quote to an operator.
 */
export function ProblemAlert(props: { error: unknown; onClose?: () => void; style?: React.CSSProperties }) {
  const { error } = props;
  if (!error) return null;
  const api = isApiError(error) ? error : null;
  const title = api ? api.title : 'Something went wrong';
  const detail = errorMessage(error);
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      style={{ marginBottom: 16, ...props.style }}
      title={title}
      closable={props.onClose ? { onClose: props.onClose } : false}
      description={
        <div>
          {detail !== title && <div>{detail}</div>}
          {api && api.errors.length > 0 && (
            <ul style={{ margin: '4px 0', paddingInlineStart: 20 }}>
              {api.errors.map((e) => (
                <li key={`${e.field}:${e.message}`}>
                  {e.field ? <Typography.Text code>{e.field}</Typography.Text> : null} {e.message}
                </li>
              ))}
            </ul>
          )}
          {api?.requestId && (
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>
              Request ID: <Typography.Text copyable style={{ fontSize: 12 }} type="secondary">{api.requestId}</Typography.Text>
            </Typography.Text>
          )}
        </div>
      }
    />
  );
}
