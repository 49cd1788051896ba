"""Rotor-driven machines: blade-pass and motor harmonics plus flow or contact noise
(fan, ToyDrone, Vacuum, grinder)."""

from __future__ import annotations

import numpy as np

from .. import dsp
from .base import Ctx, crackle, flutter, mic_gain, model, noise_band, speed_curve

FAN_ROTATION_HZ = {"W": 24.0, "X": 27.5, "Y": 30.5, "Z": 21.0}
FAN_BLADES = 7


@model("fan")
def fan(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    f_nom = FAN_ROTATION_HZ[ctx.attrs["m-n"]]
    clog = ctx.fault("clogging")
    unbalance = ctx.fault("unbalance")
    rot = dsp.phase_from_freq(speed_curve(ctx, f_nom * (1.0 - clog)), ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    wobble = 0.6 * unbalance * np.sin(rot)  # an unbalanced rotor wobbles once per turn
    bpf = dsp.harmonic_amps(FAN_BLADES * f_nom, ctx.sr, slope_db=-6.0, peaks=[(1100.0, 250.0, 10.0), (2600.0, 400.0, 4.0)])
    tonal = dsp.harmonic_osc(rng, FAN_BLADES * (rot + wobble), bpf)
    shaft = dsp.harmonic_osc(rng, rot, dsp.harmonic_amps(f_nom, ctx.sr, slope_db=-6.0, max_harmonics=6))
    air_gain = dsp.band(f, 80.0, 1800.0 * (1.0 - 5.0 * clog), 1.5) * dsp.tilt(f, -1.5)
    air = dsp.shaped_noise(rng, ctx.n, air_gain) * (1.0 + 0.2 * np.cos(FAN_BLADES * rot + rng.uniform(0, dsp.TWO_PI)))
    damage = ctx.fault("blade_damage")
    x = 0.55 * tonal + 0.05 * shaft + 0.8 * air
    x = dsp.unit_rms(x * (1.0 + damage * np.cos(rot + rng.uniform(0, dsp.TWO_PI))))
    if damage:  # one blade differs: the blade pulses repeat once per turn, not once per blade
        series = dsp.harmonic_amps(f_nom, ctx.sr, slope_db=-3.0, peaks=[(1100.0, 250.0, 10.0), (2600.0, 400.0, 4.0)])
        x = x + damage * dsp.harmonic_osc(rng, rot, series)
    if unbalance:
        x = x + unbalance * dsp.harmonic_osc(rng, rot, np.array([1.0, 0.5]))
    return x


DRONE_BLADES = {"A": 2, "B": 3, "C": 2}
DRONE_FRAME = {"1": [(1400.0, 300.0, 6.0)], "2": [(2200.0, 400.0, 6.0), (900.0, 200.0, 3.0)]}


@model("ToyDrone")
def toy_drone(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    car = ctx.attrs["car"]
    blades = DRONE_BLADES[car[0]]
    f_rot = 95.0 + 20.0 * float(ctx.attrs["spd"])
    offsets = rng.permutation([-0.012, -0.004, 0.005, 0.013]) * (1.0 + 0.2 * rng.standard_normal(4))
    faulty = int(rng.integers(4))
    if ctx.anomaly == "motor_drift":
        offsets[faulty] += ctx.amount * rng.choice([-1.0, 1.0])
    amps = dsp.harmonic_amps(blades * f_rot, ctx.sr, slope_db=-5.0, peaks=DRONE_FRAME[car[1]])
    tonal = np.zeros(ctx.n)
    phases = []
    for i in range(4):  # four rotors, each held at its own speed by the flight controller
        rot = dsp.phase_from_freq(speed_curve(ctx, f_rot * (1.0 + offsets[i]), offset=0.0, wander=0.003, rate=2.0), ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
        phases.append(rot)
        rotor = dsp.harmonic_osc(rng, blades * rot, amps)
        tonal += rotor
    wash = dsp.shaped_noise(rng, ctx.n, dsp.band(f, 800.0, 7000.0, 2.0) * dsp.tilt(f, -2.0))
    wash = wash * (1.0 + 0.3 * np.cos(blades * phases[0]))
    x = dsp.unit_rms(0.5 * tonal / 2.0 + 0.6 * wash)
    chip = ctx.fault("prop_chip")
    if chip:  # unequal blades: the faulty rotor's sound repeats once per turn, not once per blade
        x = x + chip * dsp.harmonic_osc(rng, phases[faulty], dsp.harmonic_amps(f_rot, ctx.sr, slope_db=-5.0, peaks=DRONE_FRAME[car[1]]))
    rough = ctx.fault("bearing_noise")
    if rough:
        x = x + rough * dsp.unit_rms(noise_band(ctx, 5000.0, 7200.0) * (1.0 + 0.6 * np.cos(phases[faulty])))
    return dsp.fft_filter(x, mic_gain(f, ctx.attrs["mic"]))


VACUUM_RATE_HZ = {"L": 230.0, "Lb": 250.0, "M": 290.0, "Mb": 310.0, "H": 350.0}
VACUUM_NOZZLE = {"A": [(1200.0, 500.0, 6.0)], "B": [(2000.0, 700.0, 6.0)], "C": [(800.0, 300.0, 8.0), (3500.0, 800.0, 4.0)]}
VACUUM_HOSE = {"1": [(450.0, 60.0, 5.0)], "2": [(620.0, 80.0, 5.0)]}
VACUUM_BLADES = 9


@model("Vacuum")
def vacuum(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    car = ctx.attrs["car"]
    clog = ctx.fault("clog")
    f_rot = VACUUM_RATE_HZ[ctx.attrs["spd"]] * (1.0 + clog)  # a blocked inlet unloads the motor
    rot = dsp.phase_from_freq(speed_curve(ctx, f_rot, offset=0.008, wander=0.003), ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    motor = dsp.harmonic_osc(rng, rot, dsp.harmonic_amps(f_rot, ctx.sr, slope_db=-6.0, max_harmonics=20))
    whine = dsp.harmonic_osc(rng, VACUUM_BLADES * rot, np.array([1.0, 0.3, 0.1]))
    whine = whine * (1.0 + ctx.fault("impeller_damage") * np.cos(rot + rng.uniform(0, dsp.TWO_PI)))
    air_gain = dsp.tilt(f, -1.0) * dsp.band(f, 100.0, 6000.0 * (1.0 - 10.0 * clog), 1.5)
    air_gain = air_gain * dsp.peaks_gain(f, VACUUM_NOZZLE[car[0]] + VACUUM_HOSE[car[1]])
    air = dsp.shaped_noise(rng, ctx.n, air_gain) * (1.0 + 0.1 * dsp.smooth_noise(rng, ctx.n, 3.0, ctx.sr))
    x = dsp.unit_rms(0.35 * motor + 0.3 * whine + 0.85 * air)
    wear = ctx.fault("brush_wear")
    if wear:
        x = x + wear * crackle(ctx, 250.0)
    return dsp.fft_filter(x, mic_gain(f, ctx.attrs["mic"]))


GRINDER_STONE_BAND = {"1": (600.0, 3000.0), "2": (900.0, 4500.0), "3": (1300.0, 6000.0), "4": (2000.0, 7000.0)}
GRINDER_PLATE = {
    "1": [(1300.0, 80.0, 10.0), (3100.0, 120.0, 8.0)],
    "2": [(900.0, 60.0, 10.0), (2200.0, 100.0, 8.0), (4800.0, 150.0, 6.0)],
    "3": [(1700.0, 90.0, 10.0), (3900.0, 140.0, 8.0)],
}
GRINDER_RATE_HZ = 180.0
GRINDER_GEAR = 3.3  # motor turns per disc turn


@model("grinder")
def grinder(ctx: Ctx) -> np.ndarray:
    rng, f = ctx.rng, ctx.freqs
    worn = ctx.fault("worn_bearing")
    speed = speed_curve(ctx, GRINDER_RATE_HZ, wander=0.004, rate=1.5) * (flutter(ctx, 0.02 * worn, 25.0) if worn else 1.0)
    rot = dsp.phase_from_freq(speed, ctx.n, ctx.sr, rng.uniform(0, dsp.TWO_PI))
    disc = rot / GRINDER_GEAR
    motor = dsp.harmonic_osc(rng, rot, dsp.harmonic_amps(GRINDER_RATE_HZ, ctx.sr, slope_db=-5.0, max_harmonics=30))
    lo, hi = GRINDER_STONE_BAND[ctx.attrs["grindstone"]]
    grind_gain = dsp.band(f, lo, hi, 1.5) * dsp.peaks_gain(f, GRINDER_PLATE[ctx.attrs["plate"]])
    contact = 1.0 + 0.35 * dsp.smooth_noise(rng, ctx.n, 6.0, ctx.sr)  # pressure on the workpiece varies
    grind = dsp.shaped_noise(rng, ctx.n, grind_gain) * np.clip(contact, 0.2, None) * (1.0 + 0.1 * np.cos(disc))
    unbalance = ctx.fault("stone_unbalance")
    x = dsp.unit_rms((0.45 * motor + 0.85 * grind) * (1.0 + unbalance * np.cos(disc + rng.uniform(0, dsp.TWO_PI))))
    if unbalance:
        x = x + unbalance * dsp.harmonic_osc(rng, disc, np.array([1.0, 0.7, 0.5, 0.35]))
    if worn:
        x = x + worn * noise_band(ctx, 6000.0, 7500.0, 50.0, 0.5)
    crack = ctx.fault("stone_crack")
    if crack:
        kernel = dsp.resonance_kernel([4200.0, 5600.0], [0.0008, 0.0005], [1.0, 0.6], ctx.sr)
        pos = dsp.cycle_positions(disc, rng.uniform(0, dsp.TWO_PI))
        x = x + crack * dsp.impact_train(ctx.n, pos, 1.0 + 0.15 * rng.standard_normal(len(pos)), kernel)
    return x
