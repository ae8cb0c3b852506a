// The data the network planner takes and gives: facts about the host, the plan, the recorded state.
import type { PortForward } from '../util/ip.js';

export type DeviceMode = 'bridge' | 'macvlan' | 'ipvlan' | 'phys';

/** One network device of the host, as `ip -json -details address show` reports it. */
export interface LinkFact {
  name: string;
  /** veth, bridge, macvlan, ...; undefined for a physical NIC. */
  kind?: string;
  master?: string;
  alias?: string;
  up: boolean;
  mtu: number;
  /** ADDRESS/PREFIX of every global address. */
  addresses: string[];
}

export interface InterfacePlan {
  /** Position in the guest's [[interfaces]] list. */
  index: number;
  /** Name inside the guest. */
  name: string;
  mode: DeviceMode;
  /** bridge: the host end of the veth pair. */
  hostDevice?: string;
  bridge?: string;
  /** macvlan, ipvlan: the shared NIC; phys: the NIC's name on the host. */
  parent?: string;
  /** ADDRESS/PREFIX, IPv4 first. */
  addresses: string[];
  /** Default routes set through this interface (at most one per family). */
  gateways: string[];
  nat: boolean;
  ports: PortForward[];
  mtu?: number;
  /** phys: how the NIC was on the host, to give it back the same way. */
  restore?: { up: boolean; mtu: number; addresses: string[] };
}

export interface BridgePlan {
  name: string;
  /** Made by this start (and marked as vserver's, so that it goes when its last member does). */
  create: boolean;
  /** Gateway addresses the bridge lacks. */
  addAddresses: string[];
  /** A spill bridge this start makes: the veth pair that joins it to the bridge before it. */
  uplink?: { parent: string; up: string; down: string };
  /** Already up on the host: no line sets it up again. */
  up?: boolean;
}

/** Everything a guest's network start does; written before the first change, read by teardown. */
export interface NetPlan {
  guest: string;
  context: number;
  /** The bind-mounted network namespace file. */
  netns: string;
  interfaces: InterfacePlan[];
  bridges: BridgePlan[];
  /** nftables table (family inet) holding this guest's NAT and port forwards, if it needs one. */
  nftTable?: string;
  /** IP forwarding the host needs for NAT and forwards from outside. */
  forwarding: { v4: boolean; v6: boolean };
}
