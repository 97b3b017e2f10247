import assert from "node:assert/strict";
import { isPrivateAddress, refuseTarget } from "./_webhook_guard.ts";

Deno.test("isPrivateAddress() knows the private, link-local, loopback and public ranges", () => {
  const cases: [string, boolean | undefined][] = [
    ["10.0.0.1", true],
    ["172.16.0.1", true],
    ["172.31.255.255", true],
    ["172.32.0.1", false],
    ["192.168.1.1", true],
    ["169.254.169.254", true],
    ["127.0.0.1", false],
    ["8.8.8.8", false],
    ["fc00::1", true],
    ["fdff::1", true],
    ["fe80::1", true],
    ["[fe80::1%eth0]", true],
    ["::ffff:10.0.0.1", true],
    ["::ffff:8.8.8.8", false],
    ["::1", false],
    ["2001:db8::1", false],
    ["100.64.0.1", true],
    ["100.127.255.255", true],
    ["100.128.0.1", false],
    ["192.0.0.8", true],
    ["198.18.0.1", true],
    ["fec0::1", true],
    // IPv6 forms that carry an IPv4 address are judged by it
    ["::10.0.0.1", true],
    ["::a00:1", true],
    ["::8.8.8.8", false],
    ["64:ff9b::10.0.0.1", true],
    ["64:ff9b::a9fe:a9fe", true],
    ["64:ff9b:1::192.168.0.1", true],
    ["64:ff9b::8.8.8.8", false],
    ["2002:a00:1::", true],
    ["2002:c0a8:101::1", true],
    ["2002:808:808::1", false],
    ["2001:0:4136:e378:8000:63bf:f5ff:fffe", true], // Teredo, client 10.0.0.1
    ["2001:0:4136:e378:8000:63bf:f7f7:f7f7", false], // Teredo, client 8.8.8.8
    ["::", false],
    ["example.com", undefined],
    ["999.1.1.1", undefined],
  ];
  for (const [address, expected] of cases) {
    assert.equal(isPrivateAddress(address), expected, address);
  }
});

Deno.test("refuseTarget() checks resolved addresses, allows loopback, and can be switched off", async () => {
  const resolve = (host: string) =>
    Promise.resolve(host === "intranet.test" ? ["192.168.4.4"] : ["93.184.216.34"]);
  assert.match(
    (await refuseTarget("http://intranet.test/x", false, resolve))!,
    /intranet\.test is a private or link-local address \(192\.168\.4\.4\)/,
  );
  assert.equal(await refuseTarget("http://public.test/x", false, resolve), undefined);
  assert.equal(await refuseTarget("http://localhost:1/x", false, resolve), undefined);
  assert.equal(await refuseTarget("http://127.0.0.1:1/x", false, resolve), undefined);
  assert.equal(await refuseTarget("http://[::1]:1/x", false, resolve), undefined);
  assert.equal(await refuseTarget("http://intranet.test/x", true, resolve), undefined);
  assert.equal(await refuseTarget("http://10.0.0.1/x", true, resolve), undefined);
});
