// The unmodified mediasoup-client Device (FakeHandler: no browser) against RTP parameters from our rtc/ortc.py.
// Reads {"routerRtpCapabilities", "consumers"?: [{"kind", "rtpParameters"}]} as JSON on stdin and prints one
// JSON line: {"ok", "rtpCapabilities", "canProduce": {"audio", "video"}, "consumed": [...]} or {"ok": false, "error"}.
import { Device } from 'mediasoup-client';
import { FakeHandler } from 'mediasoup-client/handlers/FakeHandler';
import * as fakeParameters from 'mediasoup-client/fakeParameters';

async function readStdin() {
	const chunks = [];
	for await (const chunk of process.stdin) chunks.push(chunk);
	return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function main() {
	const input = await readStdin();
	const device = new Device({ handlerFactory: FakeHandler.createFactory(fakeParameters) });
	await device.load({ routerRtpCapabilities: input.routerRtpCapabilities });
	const consumed = [];
	if (input.consumers && input.consumers.length) {
		const transport = device.createRecvTransport(fakeParameters.generateTransportRemoteParameters());
		// FakeHandler asks for DTLS parameters on first use; nothing is on the other end, so accept at once.
		transport.on('connect', (_params, callback) => callback());
		for (const [i, { kind, rtpParameters }] of input.consumers.entries()) {
			const consumer = await transport.consume({ id: `c${i}`, producerId: `p${i}`, kind, rtpParameters });
			consumed.push({ kind: consumer.kind, rtpParameters: consumer.rtpParameters });
		}
	}
	return {
		ok: true,
		loaded: device.loaded,
		rtpCapabilities: device.rtpCapabilities,
		canProduce: { audio: device.canProduce('audio'), video: device.canProduce('video') },
		consumed,
	};
}

main().then(
	result => console.log(JSON.stringify(result)),
	error => console.log(JSON.stringify({ ok: false, error: String(error && error.stack ? error.stack : error) })),
);
