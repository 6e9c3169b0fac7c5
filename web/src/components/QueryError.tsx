import { Button, Result } from 'antd';
import { isApiError } from '../api/problem';
import { ProblemAlert } from './ProblemAlert';

/** A list that could not load: a 403 becomes a page-level notice, anything else an alert with retry. */
export function QueryError(props: { error: unknown; what: string; onRetry?: () => void }) {
  if (isApiError(props.error) && props.error.status === 403) {
    return (
      <Result
        status="403"
        title="Not available for your role"
        subTitle={props.error.detail || `Your role does not allow viewing ${props.what}. Ask an admin of your account.`}
      />
    );
  }
  return (
    <>
      <ProblemAlert error={props.error} />
      {props.onRetry && <Button onClick={props.onRetry}>Try again</Button>}
    </>
  );
}

/** A page the user's role cannot see; shown without asking the server. */
export function NotForYourRole(props: { what: string; needed: string }) {
  return (
    <Result
      status="403"
      title="Not available for your role"
      subTitle={`Viewing ${props.what} needs the ${props.needed} role or higher. Ask an admin of your account.`}
    />
  );
}
