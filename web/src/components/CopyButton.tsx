import { CheckOutlined, CopyOutlined } from '@ant-design/icons';
import { Button, Tooltip, type ButtonProps } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { copyText } from './copy';

/**
 * Copies `text` and says so for a moment: the icon turns into a check and
 * the label into "Copied" (or "Copy failed" when the browser refuses).
 */
export function CopyButton(
  props: { text: string; label?: string; 'aria-label'?: string; iconOnly?: boolean } & Pick<ButtonProps, 'size' | 'type'>,
) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);

  const copy = async () => {
    const ok = await copyText(props.text);
    setState(ok ? 'copied' : 'failed');
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), 2000);
  };

  const label = state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : (props.label ?? 'Copy');
  const button = (
    <Button
      size={props.size ?? 'small'}
      type={props.type}
      aria-label={props['aria-label'] ?? label}
      data-copy-state={state}
      icon={state === 'copied' ? <CheckOutlined style={{ color: '#52c41a' }} /> : <CopyOutlined />}
      danger={state === 'failed'}
      onClick={() => void copy()}
    >
      {props.iconOnly ? null : label}
    </Button>
  );
  return props.iconOnly ? <Tooltip title={label}>{button}</Tooltip> : button;
}
