import type { z } from 'zod';
import { type Decoded, decodeControl } from '../codec.ts';
import {
  type CloudToStream,
  cloudToStreamSchema,
  type DeviceToGateway,
  deviceToGatewaySchema,
  type GatewayToDevice,
  type GatewayToStream,
  gatewayToDeviceSchema,
  gatewayToStreamSchema,
  MAX_PROXY_MESSAGE_BYTES,
} from './messages.ts';

function typesOf(
  schema: z.ZodDiscriminatedUnion<z.ZodObject<{ type: z.ZodLiteral<string> }>[]>,
): Set<string> {
  return new Set(schema.options.map((o) => o.shape.type.value));
}

const KNOWN = {
  device: typesOf(deviceToGatewaySchema),
  gateway: typesOf(gatewayToDeviceSchema),
  stream: typesOf(gatewayToStreamSchema),
  cloud: typesOf(cloudToStreamSchema),
};

/** Decodes a frame the gateway received from a LAN device. */
export function decodeFromDevice(data: string | Buffer, isBinary = false): Decoded<DeviceToGateway> {
  return decodeControl(data, isBinary, deviceToGatewaySchema, KNOWN.device, MAX_PROXY_MESSAGE_BYTES);
}

/** Decodes a frame a device received from the gateway. */
export function decodeForDevice(data: string | Buffer, isBinary = false): Decoded<GatewayToDevice> {
  return decodeControl(data, isBinary, gatewayToDeviceSchema, KNOWN.gateway, MAX_PROXY_MESSAGE_BYTES);
}

/** Decodes a line the cloud read from a device's stream. */
export function decodeStreamFromGateway(line: Buffer): Decoded<GatewayToStream> {
  return decodeControl(line, false, gatewayToStreamSchema, KNOWN.stream, MAX_PROXY_MESSAGE_BYTES);
}

/** Decodes a line the gateway read from a device's stream. */
export function decodeStreamFromCloud(line: Buffer): Decoded<CloudToStream> {
  return decodeControl(line, false, cloudToStreamSchema, KNOWN.cloud, MAX_PROXY_MESSAGE_BYTES);
}
