"""Machines whose character is a train of impacts or tooth passes on top of motor harmonics
(bearing, shaker, bandsaw)."""

from __future__ import annotations

import numpy as np

from .. import dsp
from .base import Ctx, impacts_per_turn, model, noise_band, periodic_positions, speed_curve

# microphone location -> path resonances (centre Hz, width Hz, gain dB)
BEARING_LOC = {
    "A": [(900.0, 200.0, 6.0)],
    "B": [(1600.0, 300.0, 6.0), (400.0, 100.0, 4.0)],
    "C": [(2500.0, 500.0, 6.0)],
    "D": [(700.0, 150.0, 5.0), (4000.0, 600.0, 5.0)],
}
BPFO, BPFI, CAGE = 3.58, 5.42, 0.4  # fault frequencies in multiples of the shaft rate


@model("bearing")
def bearing(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    vel = float(ctx.attrs["vel"])
    f_shaft = 2.2 * vel
    shaft = dsp.phase_from_freq(speed_curve(ctx, f_shaft), ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    motor = dsp.harmonic_osc(rng, shaft, dsp.harmonic_amps(f_shaft, ctx.sr, slope_db=-4.0, max_harmonics=30))
    rolling = dsp.shaped_noise(rng, ctx.n, dsp.band(f, 1500.0, 6000.0, 2.0) * dsp.peaks_gain(f, [(3200.0, 700.0, 5.0)]))
    rolling = rolling * (1.0 + 0.15 * np.cos(CAGE * shaft) + 0.05 * np.cos(BPFO * shaft))
    x = dsp.unit_rms(0.5 * motor + 0.7 * np.sqrt(vel / 10.0) * rolling)
    kernel = dsp.resonance_kernel([3200.0, 5400.0], [0.0015, 0.001], [1.0, 0.5], ctx.sr)
    outer = ctx.fault("outer_race")
    if outer:
        pos = periodic_positions(ctx, BPFO * f_shaft)
        x = x + dsp.impact_train(ctx.n, pos, outer, kernel)
    inner = ctx.fault("inner_race")
    if inner:
        pos = periodic_positions(ctx, BPFI * f_shaft)
        load = 0.5 + 0.5 * np.cos(shaft[np.minimum(pos.astype(np.int64), ctx.n - 1)])  # load zone
        x = x + dsp.impact_train(ctx.n, pos, inner * load, kernel)
    lub = ctx.fault("lubrication")
    if lub:
        x = x + lub * noise_band(ctx, 4000.0, 7500.0, 40.0, 0.5)
    return dsp.fft_filter(x, dsp.peaks_gain(f, BEARING_LOC[ctx.attrs["loc"]]))


SHAKER_BOX = ([620.0, 1800.0, 4100.0], [0.012, 0.006, 0.003], [1.0, 0.7, 0.4])


@model("shaker")
def shaker(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    fatigue = ctx.fault("spring_fatigue")
    f_vib = float(ctx.attrs["speed"]) / 60.0 * (1.0 - fatigue)
    phase = dsp.phase_from_freq(speed_curve(ctx, f_vib, wander=0.003), ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    amps = dsp.harmonic_amps(f_vib, ctx.sr, slope_db=-3.0 + 40.0 * fatigue, max_harmonics=60)
    motor = dsp.harmonic_osc(rng, phase, amps)
    # the contents hit the walls twice per vibration cycle, never twice equally hard
    pos = dsp.cycle_positions(2.0 * phase, rng.uniform(0, dsp.TWO_PI))
    pos = pos + 0.002 * ctx.sr * rng.standard_normal(len(pos))
    hit = rng.lognormal(0.0, 0.35, len(pos))
    imbalance = ctx.fault("imbalance")
    if imbalance:
        hit = hit * (1.0 + imbalance * (-1.0) ** np.arange(len(pos)))
    rattle = dsp.impact_train(ctx.n, pos, hit, dsp.resonance_kernel(*SHAKER_BOX, ctx.sr))
    body = dsp.shaped_noise(rng, ctx.n, dsp.band(f, 50.0, 1200.0, 1.5))
    x = dsp.unit_rms(0.5 * motor + 0.8 * dsp.unit_rms(rattle) + 0.3 * body)
    loose = ctx.fault("loose_part")
    if loose:
        t = dsp.poisson_times(rng, 2.0 * f_vib, ctx.duration)
        kernel = dsp.resonance_kernel([2900.0, 5200.0], [0.004, 0.002], [1.0, 0.5], ctx.sr)
        x = x + dsp.impact_train(ctx.n, t * ctx.sr, loose * rng.uniform(0.6, 1.2, len(t)), kernel)
    return x


BANDSAW_MOTOR_HZ = 24.5
BANDSAW_TICK = ([2400.0, 5200.0], [0.002, 0.001], [1.0, 0.5])


@model("bandsaw")
def bandsaw(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    vel = float(ctx.attrs["vel"])
    speed = speed_curve(ctx, 1.0, wander=0.003, rate=1.0)
    motor_phase = dsp.phase_from_freq(BANDSAW_MOTOR_HZ * speed, ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    motor = dsp.harmonic_osc(rng, motor_phase, dsp.harmonic_amps(BANDSAW_MOTOR_HZ, ctx.sr, slope_db=-6.0, max_harmonics=20))
    hum = np.sin(dsp.phase_from_freq(100.0, ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))) * np.sqrt(2.0)
    f_tooth = 32.0 * vel
    tooth_phase = dsp.phase_from_freq(f_tooth * speed, ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    teeth = dsp.harmonic_osc(rng, tooth_phase, dsp.harmonic_amps(f_tooth, ctx.sr, slope_db=-3.0, peaks=[(3000.0, 900.0, 6.0)]))
    teeth = teeth * (1.0 + 0.2 * dsp.smooth_noise(rng, ctx.n, f_tooth, ctx.sr))  # every tooth differs
    loop_phase = tooth_phase / (32.0 * 2.6)  # one blade loop: 2.6 m of blade at vel/2.6 loops per second
    blade = dsp.shaped_noise(rng, ctx.n, dsp.band(f, 2000.0, 7000.0, 2.0))
    tick = impacts_per_turn(ctx, loop_phase, dsp.resonance_kernel(*BANDSAW_TICK, ctx.sr), 0.8)
    x = dsp.unit_rms(0.35 * motor + 0.2 * hum + 0.6 * teeth + 0.4 * blade + tick)
    crack = ctx.fault("blade_crack")
    if crack:
        kernel = dsp.resonance_kernel([3700.0, 1500.0], [0.005, 0.006], [1.0, 0.5], ctx.sr)
        x = x + impacts_per_turn(ctx, loop_phase, kernel, crack)
    chatter = ctx.fault("tooth_damage")
    if chatter:  # a run of damaged teeth (1/8 of the blade) chatters on every pass
        pos = dsp.cycle_positions(tooth_phase)
        frac = np.mod(loop_phase[pos.astype(np.int64)], dsp.TWO_PI) / dsp.TWO_PI
        kernel = dsp.resonance_kernel([4500.0, 6500.0], [0.0015, 0.001], [1.0, 0.6], ctx.sr)
        x = x + dsp.impact_train(ctx.n, pos[frac < 0.125], chatter, kernel)
    worn = ctx.fault("wheel_bearing")
    if worn:
        wheel = tooth_phase / (32.0 / 0.55)
        x = x + worn * dsp.unit_rms(noise_band(ctx, 5500.0, 7500.0) * (1.0 + 0.7 * np.cos(wheel)))
    return x
