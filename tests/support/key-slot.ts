/**
 * A key's Redis Cluster hash slot, computed here (Redis Cluster specification, "Key distribution
 * model" and "Hash tags"): CRC16 (XMODEM: polynomial 0x1021, initial value 0) of the key's hash tag,
 * the bytes between its first `{` and the next `}` when there is at least one, else of the whole
 * key; modulo 16384. Tests check it against the server's CLUSTER KEYSLOT.
 */
export function keySlot(key: string): number {
  const bytes = new TextEncoder().encode(key);
  const open = bytes.indexOf(0x7b);
  let hashed = bytes;
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) hashed = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of hashed) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16_384;
}
