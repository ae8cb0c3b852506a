// The schema of a guest's recorded network start (run/vserver/net/NAME.json), which teardown trusts.
import * as v from 'valibot';
import type { PortForward } from '../util/ip.js';
import type { BridgePlan, InterfacePlan, NetPlan } from './types.js';

// names and addresses go into ip batch lines and nft scripts: one word each, never a line break
const device = v.pipe(v.string(), v.regex(/^[^\s/]{1,15}$/, 'must be a network device name'));
const cidr = v.pipe(v.string(), v.regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'must be ADDRESS/PREFIX'));
const address = v.pipe(v.string(), v.regex(/^[0-9a-fA-F:.]+$/, 'must be an IP address'));
const cidrs = v.array(cidr);

const PortSchema: v.GenericSchema<PortForward> = v.object({
  hostPort: v.number(),
  guestPort: v.number(),
  proto: v.picklist(['tcp', 'udp']),
});

const InterfaceSchema: v.GenericSchema<InterfacePlan> = v.object({
  index: v.number(),
  name: device,
  mode: v.picklist(['bridge', 'macvlan', 'ipvlan', 'phys']),
  hostDevice: v.optional(device),
  bridge: v.optional(device),
  parent: v.optional(device),
  addresses: cidrs,
  gateways: v.array(address),
  nat: v.boolean(),
  ports: v.array(PortSchema),
  mtu: v.optional(v.number()),
  restore: v.optional(v.object({ up: v.boolean(), mtu: v.number(), addresses: cidrs })),
});

const BridgeSchema: v.GenericSchema<BridgePlan> = v.object({
  name: device,
  create: v.boolean(),
  addAddresses: cidrs,
  up: v.optional(v.boolean()),
});

export const NetPlanSchema: v.GenericSchema<NetPlan> = v.object({
  guest: v.string(),
  context: v.number(),
  netns: v.pipe(v.string(), v.regex(/^\/[^\n]*$/, 'must be an absolute path')),
  interfaces: v.array(InterfaceSchema),
  bridges: v.array(BridgeSchema),
  nftTable: v.optional(v.pipe(v.string(), v.regex(/^[\w.-]+$/, 'must be an nftables table name'))),
  forwarding: v.object({ v4: v.boolean(), v6: v.boolean() }),
});
