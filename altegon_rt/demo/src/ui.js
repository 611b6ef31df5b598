// What the person sees: one tile per participant (camera, name, microphone state) plus one per shared
// screen, and the chat. Everything from the network is put in with textContent, never as HTML.

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
}

export class Tiles {
  constructor(container, template) {
    this.container = container;
    this.template = template;
  }

  _key(peerId, type) {
    return `${peerId}:${type}`;
  }

  find(peerId, type) {
    return this.container.querySelector(`[data-tile="${CSS.escape(this._key(peerId, type))}"]`);
  }

  // The tile of peerId's camera ("camera") or screen ("screen"), made if missing.
  tile(peerId, type, name) {
    let tile = this.find(peerId, type);
    if (!tile) {
      tile = this.template.content.firstElementChild.cloneNode(true);
      tile.dataset.tile = this._key(peerId, type);
      tile.dataset.peer = peerId;
      tile.dataset.type = type;
      tile.classList.add(type, "no-video");
      this.container.append(tile);
    }
    if (name !== undefined) {
      tile.querySelector(".name").textContent = type === "screen" ? `${name} (screen)` : name;
      tile.dataset.initials = initials(name);
    }
    return tile;
  }

  setVideo(peerId, type, track) {
    const tile = this.tile(peerId, type);
    const video = tile.querySelector("video");
    video.srcObject = track ? new MediaStream([track]) : null;
    tile.classList.toggle("no-video", !track);
    if (track) video.play().catch(() => {}); // muted video may always play
  }

  removeVideo(peerId, type) {
    if (type === "screen") this.find(peerId, type)?.remove();
    else if (this.find(peerId, type)) this.setVideo(peerId, type, null);
  }

  addAudio(peerId, consumerId, track) {
    const audio = document.createElement("audio");
    audio.autoplay = true;
    audio.dataset.consumer = consumerId;
    audio.srcObject = new MediaStream([track]);
    this.tile(peerId, "camera").append(audio);
    audio.play().catch(() => {}); // may wait for a click where the browser forbids autoplay
  }

  removeAudio(consumerId) {
    this.container.querySelector(`audio[data-consumer="${CSS.escape(consumerId)}"]`)?.remove();
  }

  // A badge ("mic off", "camera off") on peerId's camera tile.
  setBadge(peerId, label, on) {
    const badges = this.tile(peerId, "camera").querySelector(".badges");
    const existing = [...badges.children].find((b) => b.textContent === label);
    if (on && !existing) {
      const badge = document.createElement("span");
      badge.textContent = label;
      badge.dataset.badge = label;
      badges.append(badge);
    } else if (!on && existing) existing.remove();
  }

  setVideoHidden(peerId, type, hidden) {
    const tile = this.find(peerId, type);
    const video = tile?.querySelector("video");
    if (tile && video) tile.classList.toggle("no-video", hidden || !video.srcObject);
  }

  removePeer(peerId) {
    for (const tile of this.container.querySelectorAll(`[data-peer="${CSS.escape(peerId)}"]`)) tile.remove();
  }
}

export class Chat {
  constructor(list, form, input, send) {
    this.list = list;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const message = input.value.trim();
      if (!message) return;
      input.disabled = true;
      try {
        await send(message);
        input.value = "";
      } finally {
        input.disabled = false;
        input.focus();
      }
    });
  }

  add({ name, message, timestamp }) {
    const item = document.createElement("li");
    const time = document.createElement("time");
    const when = new Date(timestamp);
    time.dateTime = when.toISOString();
    time.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = name;
    item.append(time, who, document.createTextNode(message));
    this.list.append(item);
    item.scrollIntoView({ block: "nearest" });
  }
}
