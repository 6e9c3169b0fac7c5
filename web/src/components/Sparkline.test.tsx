import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { Sparkline, sparklinePath } from './Sparkline';

describe('sparklinePath', () => {
  it('spreads points over the width, oldest left and higher values up', () => {
    // 100 × 10 with 1 of padding: x from 1 to 99, y from 9 (min) to 1 (max).
    expect(sparklinePath([0, 5, 10], 100, 10)).toBe('M1,9 L50,5 L99,1');
    expect(sparklinePath([10, 0], 100, 10)).toBe('M1,1 L99,9');
  });

  it('lays a flat zero series on the bottom and any other flat series in the middle', () => {
    expect(sparklinePath([0, 0, 0], 100, 10)).toBe('M1,9 L50,9 L99,9');
    expect(sparklinePath([7, 7], 100, 10)).toBe('M1,5 L99,5');
  });

  it('has no line for fewer than two points', () => {
    expect(sparklinePath([], 100, 10)).toBe('');
    expect(sparklinePath([3], 100, 10)).toBe('');
  });
});

describe('Sparkline', () => {
  it('draws the points as a path titled with the range', () => {
    const { container } = render(<Sparkline values={[3, 1200, 40]} label="Lag over the last hour" width={100} height={10} />);
    const img = screen.getByRole('img', { name: 'Lag over the last hour: min 3, max 1200' });
    expect(img.querySelector('title')).toHaveTextContent('Lag over the last hour: min 3, max 1200');
    const paths = container.querySelectorAll('path');
    expect(paths).toHaveLength(1);
    expect(paths[0]!.getAttribute('d')).toBe(sparklinePath([3, 1200, 40], 100, 10));
    expect(paths[0]!.getAttribute('d')).toMatch(/^M1,[\d.]+ L50,1 L99,[\d.]+$/);
  });

  it('formats the range in the title', () => {
    render(<Sparkline values={[1000, 2500]} label="Lag" format={(n) => `${n / 1000}k`} />);
    expect(screen.getByRole('img')).toHaveAccessibleName('Lag: min 1k, max 2.5k');
  });

  it('renders nothing for fewer than two points', () => {
    const one = render(<Sparkline values={[5]} label="Lag" />);
    expect(one.container.querySelector('svg')).toBeNull();
    expect(one.container.querySelector('path')).toBeNull();
    one.unmount();
    const none = render(<Sparkline values={[]} label="Lag" />);
    expect(none.container).toBeEmptyDOMElement();
  });
});
