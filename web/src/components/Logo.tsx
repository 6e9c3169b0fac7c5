export function Logo(props: { size?: number }) {
  const s = props.size ?? 32;
  return (
    <svg width={s} height={s} viewBox="0 0 32 32" aria-hidden="true">
      <circle cx="16" cy="16" r="6" fill="#1677ff" />
      <ellipse
        cx="16"
        cy="16"
        rx="14"
        ry="6"
        fill="none"
        stroke="#1677ff"
        strokeWidth="2"
        transform="rotate(-30 16 16)"
      />
    </svg>
  );
}
