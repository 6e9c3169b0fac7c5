import { LeftOutlined, RightOutlined } from '@ant-design/icons';
import { Button, Flex, Select, Typography } from 'antd';
import { useCallback, useState } from 'react';

export const pageSizes = [10, 20, 50, 100];

/**
 * Server-side paging with opaque page tokens: the server only says how to get
 * the next page, so the pager remembers the tokens of the pages before.
 */
export function useCursorPaging(initialPageSize = 20) {
  const [pageSize, setPageSizeState] = useState(initialPageSize);
  const [tokens, setTokens] = useState<(string | undefined)[]>([undefined]);
  const page = tokens.length;
  const pageToken = tokens[tokens.length - 1];
  const next = useCallback((token: string) => setTokens((t) => [...t, token]), []);
  const prev = useCallback(() => setTokens((t) => (t.length > 1 ? t.slice(0, -1) : t)), []);
  const reset = useCallback(() => setTokens([undefined]), []);
  const setPageSize = useCallback((n: number) => {
    setPageSizeState(n);
    setTokens([undefined]);
  }, []);
  return { page, pageToken, pageSize, next, prev, reset, setPageSize };
}

export type CursorPaging = ReturnType<typeof useCursorPaging>;

export function CursorPager(props: {
  paging: CursorPaging;
  nextPageToken: string | undefined;
  itemCount: number;
  loading?: boolean;
}) {
  const { paging, nextPageToken } = props;
  return (
    <Flex justify="flex-end" align="center" gap={12} style={{ marginTop: 16 }}>
      <Typography.Text type="secondary">
        Page {paging.page}
        {props.itemCount > 0 ? ` · ${props.itemCount} shown` : ''}
      </Typography.Text>
      <Button
        aria-label="Previous page"
        icon={<LeftOutlined />}
        disabled={paging.page <= 1 || props.loading}
        onClick={paging.prev}
      />
      <Button
        aria-label="Next page"
        icon={<RightOutlined />}
        disabled={!nextPageToken || props.loading}
        onClick={() => nextPageToken && paging.next(nextPageToken)}
      />
      <Select
        aria-label="Page size"
        value={paging.pageSize}
        onChange={paging.setPageSize}
        options={pageSizes.map((n) => ({ value: n, label: `${n} / page` }))}
        style={{ width: 110 }}
      />
    </Flex>
  );
}
