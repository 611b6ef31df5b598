// The media side of a meeting: a mediasoup-client Device, one send and one receive transport, our producers
// (microphone, camera, screen) and a consumer for every producer of the others.
import { Device } from "mediasoup-client";

const FIRST_FRAME_POLL_MS = 20;
const FIRST_FRAME_WAIT_MS = 10000;

function inboundRtp(report) {
  let found = null;
  report.forEach((s) => {
    if (s.type === "inbound-rtp") found = s;
  });
  return found;
}

function outboundRtp(report) {
  let found = null;
  report.forEach((s) => {
    if (s.type === "outbound-rtp") found = s;
  });
  return found;
}

export class MediaSession {
  // hooks: onConsumer(record), onConsumerClosed(record), onTransportState(direction, state)
  constructor(signalling, hooks) {
    this.sig = signalling;
    this.hooks = hooks;
    this.device = null;
    this.sendTransport = null;
    this.recvTransport = null;
    this.producers = new Map(); // "microphone" | "camera" | "screen" → Producer
    this.consumers = new Map(); // consumer id → record
    this.byProducer = new Map(); // producer id → record, or null while its consume is under way
  }

  async start() {
    const routerRtpCapabilities = await this.sig.request("getRouterRtpCapabilities");
    this.device = new Device();
    await this.device.load({ routerRtpCapabilities });
    this.sendTransport = await this._transport("send");
    this.recvTransport = await this._transport("recv");
  }

  async _transport(direction) {
    const info = await this.sig.request("createWebRtcTransport", { appData: { direction } });
    const options = { id: info.id, iceParameters: info.iceParameters, iceCandidates: info.iceCandidates,
                      dtlsParameters: info.dtlsParameters };
    const transport = direction === "send" ? this.device.createSendTransport(options)
                                           : this.device.createRecvTransport(options);
    transport.on("connect", ({ dtlsParameters }, ok, fail) => {
      this.sig.request("connectTransport", { transportId: transport.id, dtlsParameters }).then(() => ok(), fail);
    });
    if (direction === "send") {
      transport.on("produce", ({ kind, rtpParameters, appData }, ok, fail) => {
        this.sig.request("produce", { producerTransportId: transport.id, kind, rtpParameters, appData })
          .then(({ id }) => ok({ id }), fail);
      });
    }
    transport.on("connectionstatechange", (state) => this.hooks.onTransportState?.(direction, state));
    return transport;
  }

  canProduce(kind) {
    return this.device.canProduce(kind);
  }

  async produce(type, track) {
    const producer = await this.sendTransport.produce({ track, appData: { type } });
    this.producers.set(type, producer);
    return producer;
  }

  // Mute and unmute: the producer stops sending here, and the server stops forwarding it and tells the others.
  async setProducerPaused(type, paused) {
    const producer = this.producers.get(type);
    if (!producer) return false;
    if (paused) {
      producer.pause();
      await this.sig.request("pauseProducer", { producerId: producer.id });
    } else {
      await this.sig.request("resumeProducer", { producerId: producer.id });
      producer.resume();
    }
    return true;
  }

  async closeProducer(type) {
    const producer = this.producers.get(type);
    if (!producer) return null;
    this.producers.delete(type);
    producer.close();
    await this.sig.request("producerClosed", { producerId: producer.id });
    return producer;
  }

  // Consume another peer's producer ({producerId, peerId, kind, appData, paused}); once per producer.
  async consume(info) {
    if (this.byProducer.has(info.producerId)) return null;
    this.byProducer.set(info.producerId, null);
    let answer;
    try {
      answer = await this.sig.request("consume", { consumerTransportId: this.recvTransport.id,
        producerId: info.producerId, rtpCapabilities: this.device.rtpCapabilities });
    } catch (error) {
      this.byProducer.delete(info.producerId);
      if (error.code === "not_found") return null; // it closed meanwhile
      throw error;
    }
    const consumer = await this.recvTransport.consume({ id: answer.id, producerId: answer.producerId,
      kind: answer.kind, rtpParameters: answer.rtpParameters, appData: info.appData || {} });
    if (!this.byProducer.has(info.producerId)) { // producerClosed came while we set it up
      consumer.close();
      return null;
    }
    const type = (info.appData && info.appData.type) || (answer.kind === "audio" ? "microphone" : "camera");
    const record = { id: consumer.id, consumer, producerId: answer.producerId, peerId: info.peerId,
                     kind: answer.kind, type, producerPaused: Boolean(answer.producerPaused), paused: true,
                     resumeSentAt: null, firstFrameMs: null };
    this.consumers.set(consumer.id, record);
    this.byProducer.set(info.producerId, record);
    this.hooks.onConsumer(record);
    await this.resumeConsumer(consumer.id);
    return record;
  }

  forgetProducer(producerId) {
    const record = this.byProducer.get(producerId);
    this.byProducer.delete(producerId);
    if (!record) return;
    this.consumers.delete(record.id);
    record.consumer.close();
    this.hooks.onConsumerClosed(record);
  }

  // Stop receiving one consumer (the server stops forwarding it), and start it again; for video, the
  // time from the resume request to the next decoded frame is kept in record.firstFrameMs.
  async pauseConsumer(consumerId) {
    const record = this._record(consumerId);
    await this.sig.request("pauseConsumer", { consumerId });
    record.consumer.pause();
    record.paused = true;
  }

  async resumeConsumer(consumerId) {
    const record = this._record(consumerId);
    const before = record.kind === "video" ? await this._framesDecoded(record) : 0;
    record.resumeSentAt = performance.now();
    record.firstFrameMs = null;
    await this.sig.request("resume", { consumerId });
    record.consumer.resume();
    record.paused = false;
    if (record.kind === "video") this._watchFirstFrame(record, before, record.resumeSentAt);
  }

  _record(consumerId) {
    const record = this.consumers.get(consumerId);
    if (!record) throw new Error(`no consumer ${consumerId}`);
    return record;
  }

  async _framesDecoded(record) {
    const stats = inboundRtp(await record.consumer.getStats());
    return (stats && stats.framesDecoded) || 0;
  }

  async _watchFirstFrame(record, before, since) {
    while (record.resumeSentAt === since && !record.consumer.closed) {
      if ((await this._framesDecoded(record)) > before) {
        record.firstFrameMs = performance.now() - since;
        return;
      }
      if (performance.now() - since > FIRST_FRAME_WAIT_MS) return;
      await new Promise((resolve) => setTimeout(resolve, FIRST_FRAME_POLL_MS));
    }
  }

  // Receive statistics of every consumer (RTCPeerConnection.getStats() of its receiver).
  async inbound() {
    const rows = [];
    for (const r of this.consumers.values()) {
      const s = inboundRtp(await r.consumer.getStats()) || {};
      rows.push({ id: r.id, producerId: r.producerId, peerId: r.peerId, kind: r.kind, type: r.type,
                  paused: r.paused, producerPaused: r.producerPaused, firstFrameMs: r.firstFrameMs,
                  packetsReceived: s.packetsReceived || 0, bytesReceived: s.bytesReceived || 0,
                  framesDecoded: s.framesDecoded || 0, keyFramesDecoded: s.keyFramesDecoded || 0,
                  packetsLost: s.packetsLost || 0, nackCount: s.nackCount || 0, pliCount: s.pliCount || 0,
                  frameWidth: s.frameWidth || 0, codec: r.consumer.rtpParameters.codecs[0].mimeType });
    }
    return rows;
  }

  // Send statistics of every producer.
  async outbound() {
    const rows = [];
    for (const [type, p] of this.producers) {
      const s = outboundRtp(await p.getStats()) || {};
      rows.push({ id: p.id, type, kind: p.kind, paused: p.paused, packetsSent: s.packetsSent || 0,
                  framesEncoded: s.framesEncoded || 0, keyFramesEncoded: s.keyFramesEncoded || 0,
                  pliCount: s.pliCount || 0, nackCount: s.nackCount || 0 });
    }
    return rows;
  }

  close() {
    for (const p of this.producers.values()) p.close();
    this.sendTransport?.close();
    this.recvTransport?.close();
  }
}
