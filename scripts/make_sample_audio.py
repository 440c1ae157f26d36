#!/usr/bin/env python3
"""Generate the synthetic sales-call recordings in ``sample_audio/``.

Every call is a dual-channel (stereo) 16 kHz recording: the sales rep speaks on
one channel, the customer on the other, and each channel is silent while the
other party talks -- the same layout a call-recording system produces. Voices are
espeak-ng; sox resamples and encodes; PyAV writes the .m4a (sox cannot).

Outputs (all under ``sample_audio/``):
  <call_id>.<ogg|mp3|m4a|flac|wav>   the recordings
  scripts/<call_id>.json             ground truth: turns, behaviours, timings
  calls.csv, deals.csv               call and deal metadata for the pipeline

Run from the repository root:
    .venv/bin/python scripts/make_sample_audio.py

Deterministic for a given espeak-ng / sox / FFmpeg build: gaps come from a
random.Random seeded with the call id and sox runs in repeatable mode (-R).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "sample_audio"

SAMPLE_RATE = 16_000
SPEED_WPM = 155  # natural conversational pace; Whisper copes well at this speed
# Real call recordings rarely peak near full scale; -6 dB also leaves the lossy
# encoders headroom so they never clip.
MASTER_GAIN = 0.5
# espeak-ng pads its output with silence; anything quieter than this (about
# -54 dBFS) at either end is trimmed so that turn start/end mark actual speech.
TRIM_THRESHOLD = 0.002
LEAD_IN_S = 0.6  # silence before the first word, like a call that just connected
TAIL_S = 0.8  # silence after the last word
# Pause between turns, drawn per call from a seeded RNG so the timing varies
# from call to call but is identical on every run.
GAP_RANGE_S = (0.35, 0.85)
MIN_CALL_S, MAX_CALL_S = 60.0, 180.0

# Encoder settings, chosen to keep all audio together well under 5 MB.
OGG_QUALITY = 0  # libvorbis -q 0 (about 25 kbit/s for this material)
MP3_KBPS = 32  # MPEG-2 layer III, CBR
M4A_BPS = 48_000  # FFmpeg native AAC; at 32 kbit/s Whisper accuracy dropped noticeably
FLAC_LEVEL = 8

BEHAVIOURS = ("price_mention", "referral_request", "product_introduction")

# Rep voices are US English variants, customer voices British English ones, so the
# two sides of a call always sound different. NOTE: espeak-ng 1.51 silently drops a
# "+variant" suffix on "en-gb" (en-gb+f3 sounds exactly like en-gb), so British
# voices use "en+<variant>", which selects the same British English voice.
# The variants were picked by transcribing test sentences with Whisper tiny.en.
REPS: dict[str, dict[str, str]] = {
    "rep-alex": {"name": "Alex", "voice": "en-us+m1"},
    "rep-ben": {"name": "Ben", "voice": "en-us+m3"},
    "rep-chris": {"name": "Chris", "voice": "en-us+m4"},
}


@dataclass(frozen=True)
class Turn:
    speaker: str  # "rep" | "customer"
    text: str
    behaviours: tuple[str, ...] = ()


def R(text: str, *behaviours: str) -> Turn:
    """A rep turn."""
    return Turn("rep", text, behaviours)


def C(text: str, *behaviours: str) -> Turn:
    """A customer turn."""
    return Turn("customer", text, behaviours)


PRICE = "price_mention"
REFERRAL = "referral_request"
PRODUCT = "product_introduction"


@dataclass(frozen=True)
class Call:
    call_id: str
    industry: str
    deal_id: str
    rep_id: str
    started_at: str  # ISO 8601 with UTC offset
    channels: str  # "rep-left" | "rep-right"
    fmt: str  # output container / extension
    customer_voice: str
    turns: list[Turn] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Call scripts. Wording rules, so the ground truth stays unambiguous:
#  * prices are spelled out the way people say them;
#  * turns without a behaviour contain no numbers, money, cost words, product
#    descriptions by the rep, or words like refer / recommend / review;
#  * a turn carries a behaviour only when it clearly matches its definition;
#  * the table is hand-aligned (fmt: off) so each turn reads as one line of dialogue.
# ---------------------------------------------------------------------------
# fmt: off
CALLS: list[Call] = [
    # Product first, price late, referral request at the end.
    Call("c01-solar-intro", "solar", "deal-101", "rep-alex", "2026-11-02T14:05:00+00:00",
         "rep-left", "ogg", "en+f2", [
             R("Hi, this is Alex from Sunridge Solar. Is this still a good time to talk?"),
             C("Yes, I have a few minutes. I filled out the form on your website last week."),
             R("Great, thanks for doing that. Can you tell me a little about your house and your roof?"),
             C("It is a detached house with a big south facing roof. We use a lot more electricity "
               "since we both started working from home."),
             R("That sounds like a great fit. Is there any shade from trees in the afternoon?"),
             C("Not really. The neighbours cut down their big oak tree last spring."),
             R("Perfect. Let me tell you about our home solar package. It includes high efficiency "
               "panels, a smart inverter, and a phone app that shows how much power you produce "
               "every hour.", PRODUCT),
             C("Does it keep working during a power cut?"),
             R("It does if you add our backup battery. The battery stores extra energy during the day "
               "and keeps your lights and fridge running at night or during an outage.", PRODUCT),
             C("That is exactly what my husband has been asking about."),
             R("Our installers also handle the permits and the inspection, so you never have to deal "
               "with the paperwork.", PRODUCT),
             C("Okay, that all sounds good. So what are we looking at in terms of cost?", PRICE),
             R("For a roof your size, the panels and the battery together come to eighteen thousand "
               "five hundred dollars. After the federal tax credit, it works out to about twelve "
               "thousand nine hundred dollars.", PRICE),
             C("That is less than I expected. Do you offer financing?", PRICE),
             R("Yes, you can finance it for one hundred and twenty nine dollars a month with nothing "
               "down.", PRICE),
             C("Let me talk it over with my husband tonight."),
             R("Of course. I will email you a summary of everything we discussed this afternoon."),
             C("Thank you, that would be helpful."),
             R("One last thing. If you know any neighbours who are thinking about solar, would you be "
               "willing to introduce me to them?", REFERRAL),
             C("Sure, the couple next door asked me about it just last week."),
             R("That is great to hear. Thanks again, Dana, and have a lovely evening."),
         ]),
    # Follow-up on the same deal: price comes first, product details only after.
    Call("c02-solar-followup", "solar", "deal-101", "rep-alex", "2026-11-10T16:40:00+00:00",
         "rep-left", "mp3", "en+f2", [
             R("Hi Dana, it is Alex from Sunridge Solar again. Did you get a chance to read my email?"),
             C("We did. My husband thinks the price is a little high. Is there any room for a "
               "discount?", PRICE),
             R("I spoke with my manager this morning. If you sign this month, we can take one thousand "
               "dollars off, which brings the total to seventeen thousand five hundred dollars.", PRICE),
             C("That helps. Would the monthly payment go down too?", PRICE),
             R("Yes, it would drop to about one hundred and twenty two dollars a month.", PRICE),
             C("Okay. My husband also asked what happens if something breaks."),
             R("Good question. Every system comes with a full warranty on the panels and the inverter, "
               "and our team monitors your system remotely, so we usually spot a problem before you "
               "do.", PRODUCT),
             C("And who do we call if the app stops working?"),
             R("Our support line is open every day, and a technician can come out to your house within "
               "the week.", PRODUCT),
             C("Alright. How soon could the crew get started?"),
             R("Usually within a few weeks of signing, once the permit is approved."),
             C("Then I think we are ready to move forward."),
             R("Fantastic. I will send the agreement over for electronic signature today."),
             C("Sounds good. We will sign it tonight."),
             R("Thank you so much. Once your panels are up and running, would you mind leaving us a "
               "review online? It really helps other families find us.", REFERRAL),
             C("Happy to do that."),
             R("Thanks Dana. Talk soon."),
         ]),
    # Price asked and quoted at the very start, product intro after, discount talk
    # late. No referral request. Rep on the RIGHT channel.
    Call("c03-saas-crm", "saas", "deal-102", "rep-ben", "2026-11-03T09:15:00+00:00",
         "rep-right", "ogg", "en+m2", [
             R("Hi Marcus, this is Ben from Clearpath. Thanks for booking some time with me."),
             C("Thanks Ben. I will be honest, before we go any further, I need to know what this "
               "costs.", PRICE),
             R("Totally fair. Our standard plan is forty nine dollars per user per month, billed "
               "monthly.", PRICE),
             C("Okay, that is within our range. So what do we actually get?"),
             R("Clearpath is a customer relationship manager built for small sales teams. It keeps all "
               "your contacts, emails and deals in one place, and it reminds your reps when to follow "
               "up.", PRODUCT),
             C("Does it connect to our email and calendar?"),
             R("Yes. It syncs with Gmail and Outlook, logs every email automatically, and the calendar "
               "integration lets customers book meetings straight from your website.", PRODUCT),
             C("That would save my team a lot of typing. What about reporting?"),
             R("The dashboard shows your pipeline by stage, and you can build your own reports with a "
               "few clicks.", PRODUCT),
             C("My team is small, so it really needs to be simple."),
             R("That is what we hear a lot. What tools are your reps using today?"),
             C("Mostly spreadsheets and sticky notes, to be honest."),
             R("Then I think you will see a big difference very quickly."),
             C("If we commit for a full year, is there a better rate?", PRICE),
             R("Yes. On an annual plan you get two months free, so it works out to about forty one "
               "dollars per user per month.", PRICE),
             C("Good to know. Let me talk it over with my business partner and get back to you."),
             R("Sounds great. I will follow up on Friday. Thanks for your time, Marcus."),
         ]),
    # No price mention at all; product introduction and a referral request.
    Call("c04-hvac-heatpump", "hvac", "deal-103", "rep-chris", "2026-11-04T11:30:00+00:00",
         "rep-left", "m4a", "en+Annie", [
             R("Good morning, this is Chris from Comfort Air heating and cooling. I am calling about "
               "the request you sent us."),
             C("Yes, thanks for calling back. Our furnace is getting old, and the upstairs is always "
               "too hot in summer."),
             R("That is a very common problem in older houses. How long have you had the furnace?"),
             C("It came with the house, and we have lived here a long time."),
             R("Based on what you describe, I would suggest our heat pump system. It heats and cools "
               "the whole house with one unit, and it uses a lot less energy than an old furnace.",
               PRODUCT),
             C("Will it fix the hot rooms upstairs?"),
             R("Yes. We add a zoning control, so each floor gets its own thermostat, and the system "
               "sends more air wherever it is needed.", PRODUCT),
             C("And how noisy is it? Our bedroom is right above the yard."),
             R("The outdoor unit is very quiet, about as loud as a normal conversation, and the indoor "
               "air handler sits in your basement.", PRODUCT),
             C("That sounds much better than what we have now."),
             R("It also comes with a smart thermostat that learns your schedule and lets you adjust "
               "the temperature from your phone.", PRODUCT),
             C("My husband will love that. What is the next step?"),
             R("I would like to send a technician to measure the house and check your ductwork. Does "
               "Thursday morning work for you?"),
             C("Thursday morning is perfect. Thank you, Chris, you have been really helpful."),
             R("I am glad to hear it. If you have friends or family who need heating or cooling work, "
               "would you please pass my name along to them?", REFERRAL),
             C("Of course, my sister is looking for someone right now."),
             R("Thank you. See you on Thursday."),
         ]),
    # Short call (kept short because FLAC is large): product, then price, then referral.
    Call("c05-gym-membership", "fitness", "deal-104", "rep-ben", "2026-11-05T17:50:00+00:00",
         "rep-left", "flac", "en+m3", [
             R("Hi Tom, this is Ben from Peak Fitness. You stopped by the front desk yesterday and "
               "asked us to call."),
             C("Right. I am looking for a gym close to my office, and I usually train early in the "
               "morning before work."),
             R("Plenty of our members do the same, so you will see some friendly faces in the "
               "morning."),
             C("Good. What does the membership include?"),
             R("Our all access membership gives you the gym floor, the pool, and unlimited group "
               "classes like spinning, yoga, and boxing.", PRODUCT),
             C("Do you have personal trainers too?"),
             R("Yes, every new member gets a fitness assessment and a workout plan from one of our "
               "coaches.", PRODUCT),
             C("Nice. How much is the membership?", PRICE),
             R("It is thirty nine dollars a month, and we are waiving the joining fee this week.", PRICE),
             C("That works for me. I can come in tomorrow after work to sign up."),
             R("Great. And if any of your coworkers want to train with you, please give them my "
               "name.", REFERRAL),
             C("Will do. See you tomorrow."),
             R("See you then, Tom. Enjoy the rest of your evening."),
         ]),
    # Product first; one turn is both product introduction and price; customer
    # negotiates; referral request. Rep on the RIGHT channel.
    Call("c06-insurance-bundle", "insurance", "deal-105", "rep-chris", "2026-11-06T13:20:00+00:00",
         "rep-right", "ogg", "en+m3", [
             R("Hello Daniel, this is Chris from Harbor Mutual insurance. You asked us to look at your "
               "car and home coverage."),
             C("Yes, my current policy renews soon, and I want to compare options."),
             R("Happy to help. Can I ask which drivers are on your current policy?"),
             C("Just me and my wife. We both have clean driving records."),
             R("Great. Our bundle plan covers both cars and your house under one policy, with one "
               "renewal date and a single deductible if a storm damages both.", PRODUCT),
             C("What does the home part cover exactly?"),
             R("It covers the structure, your belongings, and liability if someone gets hurt on your "
               "property. It also pays for a hotel if you have to leave the house during repairs.",
               PRODUCT),
             C("Okay. And what would all of that cost?", PRICE),
             R("The full bundle, including roadside assistance for both cars, comes to one hundred and "
               "eighty five dollars a month.", PRODUCT, PRICE),
             C("Hmm, I am paying about one hundred and sixty dollars a month now.", PRICE),
             R("I understand. If you pay the full year up front, we can take eight percent off, which "
               "brings it to about one hundred and seventy dollars a month.", PRICE),
             C("That is closer. Let me think about it over the weekend."),
             R("Absolutely. I will call you early next week to see where you landed."),
             C("Sounds good."),
             R("And Daniel, if you know anyone else whose policy is coming up for renewal, I would "
               "really appreciate an introduction.", REFERRAL),
             C("I will keep that in mind."),
             R("Thanks, and have a great weekend."),
         ]),
    # Follow-up on the same deal: only price negotiation -- no product introduction
    # and no referral request.
    Call("c07-insurance-followup", "insurance", "deal-105", "rep-chris", "2026-11-12T10:05:00+00:00",
         "rep-left", "mp3", "en+m3", [
             R("Hi Daniel, it is Chris from Harbor Mutual, following up from last week."),
             C("Hi Chris. I have been thinking it over, and the monthly payment is still my main "
               "concern.", PRICE),
             R("I understand. One option is to raise your deductible. That would lower your payment to "
               "one hundred and fifty nine dollars a month.", PRICE),
             C("What would the deductible go up to?", PRICE),
             R("It would go from five hundred dollars to one thousand dollars per claim.", PRICE),
             C("Hmm, I am not sure I like that."),
             R("That is completely fair. Some customers prefer the peace of mind."),
             C("Is there any other way to bring the price down?", PRICE),
             R("If you have an alarm system, there is a home security discount that saves you another "
               "twelve dollars a month.", PRICE),
             C("We do. It was installed when we moved in."),
             R("Great. I will update your file today."),
             C("Okay. I need to check with my wife, but I think we are close."),
             R("Of course. Take your time, and call me whenever you are ready."),
             C("Thanks Chris. Talk soon."),
         ]),
    # Product first, price late, no referral request; the customer walks away.
    Call("c08-internet-fiber", "internet", "deal-106", "rep-alex", "2026-11-09T15:35:00+00:00",
         "rep-left", "ogg", "en+m3", [
             R("Hi, this is Alex from Swift Fiber. I saw you checked whether our service is available "
               "on your street."),
             C("Yes. I work from home, and my current connection keeps dropping during video calls."),
             R("That sounds frustrating, especially when you work from home."),
             C("It really is. What kind of speeds are we talking about?"),
             R("Our gig plan gives you gigabit speeds for both download and upload, so video calls and "
               "large uploads never slow down.", PRODUCT),
             C("Does it come with a router?"),
             R("Yes, it includes a mesh wifi router that covers the whole house, and a technician sets "
               "everything up for you.", PRODUCT),
             C("And is there a data cap?"),
             R("There are no data caps at all, and our support team is available around the clock.",
               PRODUCT),
             C("Okay. And how much is the gig plan?", PRICE),
             R("It is seventy dollars a month for the first year, and eighty five dollars a month after "
               "that.", PRICE),
             C("That is more than I pay now. My current provider charges me fifty five dollars a "
               "month.", PRICE),
             R("I understand. There are no installation fees and no contract, so you can cancel "
               "anytime.", PRICE),
             C("I will think about it, but honestly I might just stay with what I have."),
             R("No problem. I will send you an email with my contact details in case you change your "
               "mind."),
             C("Thanks. Bye."),
         ]),
    # Short call (kept short because the WAV is large): price asked first, product
    # introduced after, referral request at the end.
    Call("c09-pest-control", "pest_control", "deal-107", "rep-ben", "2026-11-11T08:45:00+00:00",
         "rep-left", "wav", "en+m2", [
             R("Hi, this is Ben from Green Shield pest control. Thanks for calling us back."),
             C("Hi. We have ants in the kitchen again, and the spray from the store is not working. "
               "How much is your quarterly service?", PRICE),
             R("Our quarterly plan is one hundred and nine dollars per visit, and the first visit is "
               "half price.", PRICE),
             C("Okay. And what do you actually do on each visit?"),
             R("A technician inspects the house, treats the inside and the outside, and seals the gaps "
               "where ants and spiders get in.", PRODUCT),
             C("Is it safe for kids and pets?"),
             R("Yes, we use family safe products, and if the bugs come back between visits, we come "
               "back and treat them again.", PRODUCT),
             C("Great, let us book it."),
             R("Wonderful, I have you down for Tuesday morning."),
             C("Perfect, thank you."),
             R("One more thing. If your neighbours have the same ant problem, we would love it if you "
               "recommended us to them.", REFERRAL),
             C("Sure, I will mention it to them."),
             R("Thanks, and have a great day."),
         ]),
    # Product first, price only after it, and a testimonial request.
    Call("c10-dental-aligners", "dental", "deal-108", "rep-alex", "2026-11-13T12:10:00+00:00",
         "rep-left", "ogg", "en+f2", [
             R("Hi Maria, this is Alex from Bright Smile Dental. You filled out the form on our "
               "website yesterday."),
             C("Yes. I have wanted to straighten my teeth for a while, but I do not want metal "
               "braces."),
             R("Then clear aligners are a great fit. They are thin plastic trays made for your teeth, "
               "and you switch to a new set every couple of weeks as your teeth move into place.",
               PRODUCT),
             C("Are they noticeable?"),
             R("They are almost invisible. You take them out to eat, and the program includes a scan, "
               "all of your trays, and check ups with our orthodontist.", PRODUCT),
             C("How long does the whole treatment take?"),
             R("For most adults the treatment takes about a year, depending on how much your teeth "
               "need to move.", PRODUCT),
             C("Okay. What does it cost, and does insurance help?", PRICE),
             R("The full program is three thousand nine hundred dollars. Many insurance plans cover "
               "part of it, and we offer payment plans from ninety nine dollars a month.", PRICE),
             C("That is doable. Can I book the first scan?"),
             R("Of course. We have an opening next Wednesday afternoon."),
             C("Wednesday works for me."),
             R("Great. And after your treatment, would you be willing to write a short testimonial for "
               "our website?", REFERRAL),
             C("Sure. If my smile looks good, I will be happy to."),
             R("It will. See you on Wednesday, Maria."),
         ]),
]

# fmt: on

# deal_id -> (outcome, amount, closed_at, segment). Two deals (101, 105) have two calls.
DEALS: dict[str, tuple[str, str, str, str]] = {
    "deal-101": ("won", "17500.00", "2026-11-11", "residential"),
    "deal-102": ("open", "5904.00", "", "smb"),
    "deal-103": ("won", "14200.00", "2026-11-09", "residential"),
    "deal-104": ("won", "468.00", "2026-11-06", "consumer"),
    "deal-105": ("lost", "2040.00", "2026-11-17", "consumer"),
    "deal-106": ("lost", "840.00", "2026-11-16", "consumer"),
    "deal-107": ("won", "436.00", "2026-11-12", "residential"),
    "deal-108": ("open", "3900.00", "", "consumer"),
}

AUDIO_EXTENSIONS = ("ogg", "mp3", "m4a", "flac", "wav")


# ---------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------
def synthesize(text: str, voice: str, workdir: Path) -> np.ndarray:
    """Speak ``text`` with espeak-ng and return mono float32 samples at 16 kHz.

    espeak-ng renders at 22050 Hz; sox resamples. sox writes 32-bit float so no
    dither (i.e. no randomness) is added at this step.
    """
    raw_wav = workdir / "turn.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(SPEED_WPM), "-w", str(raw_wav), "--", text],
        check=True,
    )
    to_raw_f32 = f"-t raw -e floating-point -b 32 -c 1 -r {SAMPLE_RATE} -".split()
    pcm = subprocess.run(
        ["sox", "-R", str(raw_wav), *to_raw_f32], check=True, capture_output=True
    ).stdout
    return np.frombuffer(pcm, dtype="<f4").astype(np.float32)


def trim_silence(samples: np.ndarray) -> np.ndarray:
    """Drop espeak-ng's leading/trailing padding so timings mark real speech."""
    loud = np.flatnonzero(np.abs(samples) > TRIM_THRESHOLD)
    if loud.size == 0:
        raise ValueError("espeak-ng produced silence")
    return samples[loud[0] : loud[-1] + 1]


def render_call(call: Call, workdir: Path) -> tuple[np.ndarray, list[dict]]:
    """Lay the turns out on a stereo timeline; return int16 (n, 2) audio and turn records."""
    rep_voice = REPS[call.rep_id]["voice"]
    rep_channel = 0 if call.channels == "rep-left" else 1
    rng = random.Random(call.call_id)

    clips: list[tuple[Turn, np.ndarray, int]] = []
    cursor = int(LEAD_IN_S * SAMPLE_RATE)
    for i, turn in enumerate(call.turns):
        voice = rep_voice if turn.speaker == "rep" else call.customer_voice
        clip = trim_silence(synthesize(turn.text, voice, workdir))
        if i > 0:
            cursor += int(rng.uniform(*GAP_RANGE_S) * SAMPLE_RATE)
        clips.append((turn, clip, cursor))
        cursor += clip.size
    total = cursor + int(TAIL_S * SAMPLE_RATE)

    mix = np.zeros((total, 2), dtype=np.float32)
    records: list[dict] = []
    for turn, clip, start in clips:
        channel = rep_channel if turn.speaker == "rep" else 1 - rep_channel
        mix[start : start + clip.size, channel] = clip * MASTER_GAIN
        records.append(
            {
                "speaker": turn.speaker,
                "text": turn.text,
                "behaviours": [b for b in BEHAVIOURS if b in turn.behaviours],
                "start": round(start / SAMPLE_RATE, 3),
                "end": round((start + clip.size) / SAMPLE_RATE, 3),
            }
        )
    pcm16 = np.round(np.clip(mix, -1.0, 1.0) * 32767.0).astype("<i2")
    return pcm16, records


# ---------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------
def write_wav_pcm16(path: Path, pcm16: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm16.tobytes())


def encode_m4a(path: Path, pcm16: np.ndarray) -> None:
    """AAC in MP4 via PyAV (sox has no m4a writer). Bitexact flags keep the
    container free of encoder version strings and timestamps."""
    planar = (pcm16.astype(np.float32) / 32768.0).T.copy()  # (2, n) for "fltp"
    with av.open(str(path), "w", format="ipod", options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("aac", rate=SAMPLE_RATE, options={"flags": "+bitexact"})
        stream.codec_context.layout = "stereo"
        stream.codec_context.bit_rate = M4A_BPS
        frame_size = 1024  # AAC frame length
        for pos in range(0, planar.shape[1], frame_size):
            frame = av.AudioFrame.from_ndarray(
                planar[:, pos : pos + frame_size], format="fltp", layout="stereo"
            )
            frame.sample_rate = SAMPLE_RATE
            frame.pts = pos
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def encode(master_wav: Path, pcm16: np.ndarray, dest: Path, fmt: str) -> None:
    # -R: repeatable mode (fixed Ogg serial numbers, no time-seeded randomness).
    if fmt == "ogg":
        cmd = ["sox", "-R", str(master_wav), "-C", str(OGG_QUALITY), str(dest)]
    elif fmt == "mp3":
        cmd = ["sox", "-R", str(master_wav), "-C", str(MP3_KBPS), str(dest)]
    elif fmt == "flac":
        cmd = ["sox", "-R", str(master_wav), "-C", str(FLAC_LEVEL), str(dest)]
    elif fmt == "wav":
        # Microsoft ADPCM (4 bits/sample): still a plain RIFF/WAVE file, but a quarter
        # of the size of 16-bit PCM, which would not fit the size budget.
        cmd = ["sox", "-R", str(master_wav), "-e", "ms-adpcm", str(dest)]
    elif fmt == "m4a":
        encode_m4a(dest, pcm16)
        return
    else:
        raise ValueError(f"unknown format {fmt}")
    subprocess.run(cmd, check=True)


# ---------------------------------------------------------------------------
# Metadata
# ---------------------------------------------------------------------------
def write_csvs(out_dir: Path) -> None:
    with open(out_dir / "calls.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["call_id", "recording", "rep_id", "deal_id", "started_at", "channels"])
        for call in sorted(CALLS, key=lambda c: c.started_at):
            w.writerow(
                [
                    call.call_id,
                    f"{call.call_id}.{call.fmt}",
                    call.rep_id,
                    call.deal_id,
                    call.started_at,
                    call.channels,
                ]
            )
    with open(out_dir / "deals.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["deal_id", "outcome", "amount", "closed_at", "segment"])
        for deal_id, (outcome, amount, closed_at, segment) in sorted(DEALS.items()):
            w.writerow([deal_id, outcome, amount, closed_at, segment])


def validate_data() -> None:
    """Catch script mistakes before spending time on synthesis."""
    ids = [c.call_id for c in CALLS]
    assert len(ids) == len(set(ids)), "duplicate call_id"
    for call in CALLS:
        assert call.rep_id in REPS and call.deal_id in DEALS and call.fmt in AUDIO_EXTENSIONS
        assert call.channels in ("rep-left", "rep-right")
        assert call.customer_voice != REPS[call.rep_id]["voice"]
        for prev, turn in itertools.pairwise(call.turns):
            # Speakers alternate; back-to-back turns by one speaker are a typo here.
            assert prev.speaker != turn.speaker, (call.call_id, turn.text)
        for turn in call.turns:
            assert turn.speaker in ("rep", "customer")
            assert set(turn.behaviours) <= set(BEHAVIOURS), turn
            if turn.speaker == "customer":
                # Referral requests and product introductions are rep-only behaviours.
                assert set(turn.behaviours) <= {PRICE}, turn


# ---------------------------------------------------------------------------
# Verification (optional: needs faster-whisper, which the pipeline uses to decode)
# ---------------------------------------------------------------------------
def verify(out_dir: Path) -> bool:
    """Decode every recording the way the pipeline does and check that each turn's
    energy sits on the expected channel at the recorded time."""
    try:
        from faster_whisper import decode_audio
    except ImportError:
        print("faster-whisper not installed; skipping decode check")
        return True
    ok = True
    total_bytes = 0
    for call in CALLS:
        path = out_dir / f"{call.call_id}.{call.fmt}"
        if not path.exists():
            print(f"  {path.name}: missing")
            ok = False
            continue
        truth = json.loads((out_dir / "scripts" / f"{call.call_id}.json").read_text())
        left, right = decode_audio(str(path), sampling_rate=SAMPLE_RATE, split_stereo=True)
        rep, cust = (left, right) if call.channels == "rep-left" else (right, left)
        bad = 0
        for t in truth["turns"]:
            a, b = int(t["start"] * SAMPLE_RATE), int(t["end"] * SAMPLE_RATE)
            own, other = (rep, cust) if t["speaker"] == "rep" else (cust, rep)
            own_rms = float(np.sqrt(np.mean(own[a:b] ** 2)))
            other_rms = float(np.sqrt(np.mean(other[a:b] ** 2)))
            if not own_rms > 0.01 or other_rms > own_rms * 0.05:
                bad += 1
        size = path.stat().st_size
        total_bytes += size
        status = "ok" if bad == 0 else f"{bad} turns misplaced"
        print(f"  {path.name:32s} {left.size / SAMPLE_RATE:6.1f}s {size / 1024:7.1f} KiB  {status}")
        ok &= bad == 0
    print(f"  total audio: {total_bytes / 1e6:.2f} MB")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    parser.add_argument("--only", nargs="*", help="regenerate only these call ids")
    parser.add_argument("--no-verify", action="store_true", help="skip the decode check")
    args = parser.parse_args()

    validate_data()
    out_dir: Path = args.out
    (out_dir / "scripts").mkdir(parents=True, exist_ok=True)
    calls = [c for c in CALLS if not args.only or c.call_id in args.only]

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for call in calls:
            pcm16, turns = render_call(call, workdir)
            duration = pcm16.shape[0] / SAMPLE_RATE
            # The pipeline is specified for calls of one to three minutes.
            if not MIN_CALL_S <= duration <= MAX_CALL_S:
                raise SystemExit(
                    f"{call.call_id}: {duration:.1f}s is outside "
                    f"{MIN_CALL_S}-{MAX_CALL_S}s; adjust its script"
                )
            # Remove a recording left over from an earlier run in another format.
            for ext in AUDIO_EXTENSIONS:
                (out_dir / f"{call.call_id}.{ext}").unlink(missing_ok=True)
            master = workdir / "master.wav"
            write_wav_pcm16(master, pcm16)
            encode(master, pcm16, out_dir / f"{call.call_id}.{call.fmt}", call.fmt)
            truth = {
                "call_id": call.call_id,
                "recording": f"{call.call_id}.{call.fmt}",
                "industry": call.industry,
                "channels": call.channels,
                "rep_voice": REPS[call.rep_id]["voice"],
                "customer_voice": call.customer_voice,
                "duration": round(pcm16.shape[0] / SAMPLE_RATE, 3),
                "turns": turns,
            }
            (out_dir / "scripts" / f"{call.call_id}.json").write_text(
                json.dumps(truth, indent=2) + "\n"
            )
            print(f"{call.call_id}: {truth['duration']:.1f}s, {len(turns)} turns")
    write_csvs(out_dir)

    if args.no_verify:
        return 0
    print("verifying decode:")
    return 0 if verify(out_dir) else 1


if __name__ == "__main__":
    sys.exit(main())
