// Call page audio: time stamps seek the player; the utterance being heard is highlighted.
// Loaded as a file (CSP script-src 'self'); no inline handlers anywhere.
"use strict";

(function () {
  const player = document.getElementById("player");
  if (!player) {
    return;
  }

  function seek(seconds) {
    const go = function () {
      player.currentTime = seconds;
      const playing = player.play();
      if (playing && typeof playing.catch === "function") {
        playing.catch(function () { /* autoplay refused: the position is still set */ });
      }
    };
    if (player.readyState >= 1) {
      go();
    } else {
      player.addEventListener("loadedmetadata", go, { once: true });
      if (player.networkState === HTMLMediaElement.NETWORK_EMPTY) {
        player.load();
      }
    }
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-seek]");
    if (!button) {
      return;
    }
    const seconds = Number.parseFloat(button.dataset.seek);
    if (!Number.isFinite(seconds)) {
      return;
    }
    seek(seconds);
    const target = button.dataset.target && document.getElementById(button.dataset.target);
    if (target) {
      target.scrollIntoView({ block: "center" });
    }
  });

  const utterances = Array.from(document.querySelectorAll(".utt[data-start]"));
  let current = null;
  player.addEventListener("timeupdate", function () {
    const t = player.currentTime;
    const found = utterances.find(function (u) {
      return Number(u.dataset.start) <= t && t < Number(u.dataset.end);
    }) || null;
    if (found !== current) {
      if (current) {
        current.classList.remove("playing");
      }
      if (found) {
        found.classList.add("playing");
      }
      current = found;
    }
  });
})();
