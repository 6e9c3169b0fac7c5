// A tiny inline SVG line chart of a series of numbers, for trends next to a
// figure. No axes: the accessible title says what it shows and its range.

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * The SVG path of values drawn into width × height (pad inside the edges):
 * oldest on the left, higher values up. A flat series of zeros lies on the
 * bottom, any other flat series in the middle. Empty for fewer than 2 values.
 */
export function sparklinePath(values: readonly number[], width: number, height: number, pad = 1): string {
  if (values.length < 2) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  const w = width - 2 * pad;
  const h = height - 2 * pad;
  const y = (v: number) => {
    if (max === min) return max === 0 ? pad + h : pad + h / 2;
    return pad + h * (1 - (v - min) / (max - min));
  };
  return values
    .map((v, i) => `${i === 0 ? 'M' : 'L'}${round(pad + (w * i) / (values.length - 1))},${round(y(v))}`)
    .join(' ');
}

export function sparklineTitle(label: string, values: readonly number[], format: (n: number) => string = String) {
  return `${label}: min ${format(Math.min(...values))}, max ${format(Math.max(...values))}`;
}

/**
 * Draws values as a line; nothing for fewer than 2 values. With `fluid`, the
 * chart stretches to the width of its container (height stays fixed).
 */
export function Sparkline(props: {
  values: readonly number[];
  /** What the line shows, e.g. "Lag over the last hour"; min and max are appended. */
  label: string;
  width?: number;
  height?: number;
  fluid?: boolean;
  format?: (n: number) => string;
  color?: string;
  testId?: string;
}) {
  const { values, width = 64, height = 18, label } = props;
  if (values.length < 2) return null;
  const title = sparklineTitle(label, values, props.format);
  const line = sparklinePath(values, width, height);
  const color = props.color ?? 'currentColor';
  return (
    <svg
      role="img"
      aria-label={title}
      data-testid={props.testId}
      width={props.fluid ? '100%' : width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      preserveAspectRatio={props.fluid ? 'none' : undefined}
      style={{ display: props.fluid ? 'block' : 'inline-block', verticalAlign: 'middle', overflow: 'visible' }}
    >
      <title>{title}</title>
      {props.fluid && (
        <path d={`${line} L${width - 1},${height} L1,${height} Z`} fill={color} fillOpacity={0.12} stroke="none" />
      )}
      <path
        d={line}
        fill="none"
        stroke={color}
        strokeWidth={1.5}
        strokeLinejoin="round"
        strokeLinecap="round"
        vectorEffect="non-scaling-stroke"
      />
    </svg>
  );
}
