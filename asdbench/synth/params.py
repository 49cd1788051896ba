"""THE tuning table of the synthetic benchmark: one entry per machine type.

Everything that sets the difficulty lives here, so calibration touches one file:

* ``snr_db``: machine RMS over the RMS of the stationary background (noise, hum, distant
  machine); background events (hits, speech-like bursts) come on top. Each clip draws its SNR
  uniformly in ``snr_db +- SNR_JITTER_DB``.
* ``anomalies``: the fault kinds of the type. Each has an *amount* in the unit its description
  gives (0 = no fault, larger = stronger); an anomalous clip draws its amount uniformly in
  ``[lo, hi] * SEVERITY_SCALE``.
* ``source`` / ``target``: attribute strings of the two domains (the operating conditions),
  ``source_env`` / ``target_env``: the background environment of each domain (see
  ``background.ENVIRONMENTS``).

Changing any number here changes the data: bump ``GENERATOR_VERSION`` in ``version.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Multiplies every anomaly amount: the one global knob for "harder" (< 1) or "easier" (> 1).
SEVERITY_SCALE = 2.5
#: Half-width of the uniform per-clip SNR spread around a type's ``snr_db``.
SNR_JITTER_DB = 1.0
#: Half-width of the uniform per-clip recording gain spread (keeps loudness a weak cue).
GAIN_JITTER_DB = 0.5


@dataclass(frozen=True)
class AnomalyKind:
    """One fault of a machine type; ``amount`` is drawn in ``[lo, hi] * SEVERITY_SCALE``."""

    name: str
    description: str  # what changes in the sound, and the unit of the amount
    lo: float
    hi: float


@dataclass(frozen=True)
class MachineSpec:
    """A machine type: its split, sound model, domains, background, SNR and faults."""

    name: str
    split: str  # "dev" or "eval"
    summary: str
    snr_db: float
    source: tuple[str, ...]
    target: tuple[str, ...]
    source_env: str
    target_env: str
    anomalies: tuple[AnomalyKind, ...]
    paper_seconds: float = 10.0

    def anomaly(self, name: str) -> AnomalyKind:
        for kind in self.anomalies:
            if kind.name == name:
                return kind
        raise KeyError(f"{self.name} has no anomaly kind {name!r}")


A = AnomalyKind

MACHINES: dict[str, MachineSpec] = {
    spec.name: spec
    for spec in (
        # ------------------------------------------------------------------ development set
        MachineSpec(
            name="ToyCar",
            split="dev",
            summary="DC motor whine (commutator harmonics), pinion gear mesh, tyre rolling noise "
            "modulated at the wheel rate; car model sets the motor and gears, spd the voltage, mic the "
            "microphone position.",
            snr_db=-2.0,
            source=("car_A1_spd_28V_mic_1", "car_A2_spd_31V_mic_1", "car_B1_spd_31V_mic_1", "car_B2_spd_34V_mic_1"),
            target=("car_C1_spd_37V_mic_2", "car_C2_spd_34V_mic_1"),
            source_env="factory_a",
            target_env="factory_a",
            anomalies=(
                A("wheel_damage", "impact once per wheel revolution; amount = impact peak / machine RMS", 0.9, 2.0),
                A("gear_damage", "gear-mesh tone amplitude-modulated at the motor rate; amount = AM depth", 0.45, 0.9),
                A("motor_wear", "brush crackle (high-passed random clicks) and speed flutter; amount = crackle RMS / machine RMS", 0.12, 0.3),
            ),
            paper_seconds=12.0,
        ),
        MachineSpec(
            name="ToyTrain",
            split="dev",
            summary="Motor hum, rolling rumble and rail-joint click groups (two axles per bogie) whose rate "
            "follows the speed; the car letter sets the click resonances, its digit the bogie count and body "
            "resonance, spd the speed (and motor pitch), mic the distance.",
            snr_db=-3.0,
            source=("car_A1_spd_6_mic_1", "car_A2_spd_6_mic_2", "car_B1_spd_8_mic_1", "car_B2_spd_8_mic_2"),
            target=("car_C1_spd_10_mic_1", "car_C2_spd_5_mic_2"),
            source_env="factory_a",
            target_env="factory_c",
            anomalies=(
                A("flat_wheel", "impact once per wheel revolution; amount = impact peak / machine RMS", 1.5, 3.5),
                A("rail_damage", "irregular rattling clicks of a damaged rail stretch; amount = click peak / machine RMS", 2.5, 5.0),
                A("motor_fault", "motor odd harmonics boosted and speed flutter; amount = flutter depth (fraction)", 0.004, 0.01),
            ),
            paper_seconds=12.0,
        ),
        MachineSpec(
            name="bearing",
            split="dev",
            summary="Test-rig motor harmonics at the shaft rate plus rolling noise (1.5-6 kHz) weakly modulated "
            "at the cage frequency; vel sets the shaft rate, loc the microphone position (path filter).",
            snr_db=-3.0,
            source=("vel_6_loc_A", "vel_10_loc_A", "vel_8_loc_B", "vel_14_loc_B"),
            target=("vel_18_loc_C", "vel_12_loc_D"),
            source_env="factory_b",
            target_env="factory_b",
            anomalies=(
                A("outer_race", "impacts at the outer-race pass frequency (3.58 x shaft); amount = impact peak / machine RMS", 1.0, 2.0),
                A("inner_race", "impacts at the inner-race pass frequency (5.42 x shaft), modulated by the shaft rate; amount = impact peak / machine RMS", 1.2, 2.4),
                A("lubrication", "high-frequency rolling noise (4-7.5 kHz) raised and roughened; amount = added band RMS / machine RMS", 0.06, 0.15),
            ),
        ),
        MachineSpec(
            name="fan",
            split="dev",
            summary="Blade-pass harmonics (7 blades) with a housing resonance, weak shaft-rate tones, and airflow "
            "noise modulated at the blade-pass rate; m-n sets the rotation rate; the target domain also "
            "sits in another factory.",
            snr_db=-4.0,
            source=("m-n_W", "m-n_X"),
            target=("m-n_Y", "m-n_Z"),
            source_env="factory_a",
            target_env="factory_b",
            anomalies=(
                A("blade_damage", "one blade differs: harmonics of the rotation rate (not only of the blade pass) and once-per-revolution AM; amount = series RMS / machine RMS = AM depth", 0.3, 0.6),
                A("unbalance", "shaft-rate tones (1x, 2x) and shaft-rate wobble; amount = tone RMS / machine RMS", 0.06, 0.15),
                A("clogging", "speed drop and darker airflow noise; amount = relative speed drop", 0.01, 0.03),
            ),
        ),
        MachineSpec(
            name="gearbox",
            split="dev",
            summary="Gear-mesh harmonics (29 teeth) with shaft-rate sidebands, motor harmonics and mechanical "
            "noise; volt sets the shaft rate, wt the load (mesh level, sideband depth, slight slow-down).",
            snr_db=-2.0,
            source=("volt_1.0_wt_100", "volt_1.5_wt_100", "volt_1.5_wt_150", "volt_2.0_wt_50"),
            target=("volt_2.5_wt_100", "volt_1.5_wt_300"),
            source_env="factory_b",
            target_env="factory_b",
            anomalies=(
                A("tooth_crack", "impact once per shaft revolution; amount = impact peak / machine RMS", 1.2, 3.0),
                A("wear", "deeper shaft-rate sidebands and stronger upper mesh harmonics; amount = added AM depth", 0.25, 0.5),
                A("misalignment", "mesh frequency modulated at twice the shaft rate; amount = FM depth (fraction)", 0.01, 0.025),
            ),
        ),
        MachineSpec(
            name="slider",
            split="dev",
            summary="Linear slide strokes (trapezoid velocity): motor whine whose pitch follows the speed, rail "
            "friction noise, end-of-stroke knocks; vel sets the cruise speed (mm/s), ac the acceleration.",
            snr_db=-3.0,
            source=("vel_500_ac_0.11", "vel_730_ac_0.11", "vel_730_ac_0.2", "vel_900_ac_0.2"),
            target=("vel_1100_ac_0.3", "vel_600_ac_0.05"),
            source_env="factory_a",
            target_env="factory_a",
            anomalies=(
                A("rail_damage", "a rattle of three impacts each time the carriage passes one of two damaged rail spots; amount = impact peak / machine RMS", 3.0, 6.0),
                A("grease_loss", "squeal tone (2.8-3.4 kHz) while moving; amount = squeal RMS / machine RMS", 0.15, 0.35),
                A("belt_slack", "velocity ripple (FM of the whine, AM of the friction); amount = ripple depth (fraction)", 0.04, 0.1),
            ),
        ),
        MachineSpec(
            name="valve",
            split="dev",
            summary="Solenoid valve open/close clicks in a repeating pattern, flow hiss while open, pump hum; "
            "pat selects the pattern (source 00/01, target 02/03).",
            snr_db=-1.0,
            source=("pat_00", "pat_01"),
            target=("pat_02", "pat_03"),
            source_env="factory_c",
            target_env="factory_c",
            anomalies=(
                A("contamination", "click resonances lower and longer, flow hiss weaker; amount = relative resonance drop", 0.02, 0.06),
                A("timing", "irregular switching times and contact bounce after most closings; amount = timing jitter std (s)", 0.01, 0.03),
                A("leak", "flow hiss while closed; amount = leak hiss RMS / open hiss RMS", 0.3, 0.8),
            ),
        ),
        # ------------------------------------------------------------------ evaluation set
        MachineSpec(
            name="ToyDrone",
            split="eval",
            summary="Four rotors at slightly different rates (beating), each with blade-pass harmonics and "
            "rotor noise; the car letter sets the blade count, its digit the frame resonance, spd the rotor "
            "rate, mic the distance.",
            snr_db=-2.0,
            source=("car_A1_spd_3_mic_1", "car_A2_spd_3_mic_1", "car_B1_spd_2_mic_1", "car_B2_spd_2_mic_1"),
            target=("car_C1_spd_1_mic_2", "car_C2_spd_1_mic_2"),
            source_env="factory_c",
            target_env="factory_a",
            anomalies=(
                A("prop_chip", "one rotor's blades differ: harmonics of its rotation rate; amount = series RMS / machine RMS", 0.25, 0.5),
                A("motor_drift", "one rotor runs off the others' speed; amount = relative speed offset", 0.03, 0.07),
                A("bearing_noise", "rough 5-7 kHz noise of one motor, modulated at its rate; amount = noise RMS / machine RMS", 0.15, 0.35),
            ),
        ),
        MachineSpec(
            name="ToyNscale",
            split="eval",
            summary="N-scale model train: high-pitched motor, short bright rail-joint clicks every 124 mm of "
            "track, light rolling noise; the car letter sets the click resonances, its digit the bogie count "
            "and body resonance, spd the speed, mic the distance.",
            snr_db=-3.0,
            source=("car_A1_spd_3_mic_1", "car_A2_spd_3_mic_1", "car_B1_spd_2_mic_1", "car_B2_spd_3_mic_1"),
            target=("car_C1_spd_1_mic_2", "car_C2_spd_1_mic_2"),
            source_env="factory_b",
            target_env="factory_b",
            anomalies=(
                A("flat_wheel", "impact once per wheel revolution; amount = impact peak / machine RMS", 1.0, 2.5),
                A("rail_damage", "irregular rattling clicks of a damaged rail stretch; amount = click peak / machine RMS", 1.5, 3.5),
                A("motor_fault", "odd motor harmonics boosted and speed flutter; amount = flutter depth (fraction)", 0.003, 0.008),
            ),
        ),
        MachineSpec(
            name="ToyTank",
            split="eval",
            summary="Tracked toy: motor whine and gear mesh plus track-link clatter at the link-pass rate; "
            "the car letter sets the clatter resonances, its digit the gear teeth, spd the speed, mic the distance.",
            snr_db=-2.0,
            source=("car_A1_spd_3_mic_1", "car_A2_spd_4_mic_1", "car_B1_spd_4_mic_1", "car_B2_spd_3_mic_1"),
            target=("car_C1_spd_5_mic_1", "car_C2_spd_1_mic_1"),
            source_env="factory_a",
            target_env="factory_c",
            anomalies=(
                A("broken_link", "a loose link slaps twice per track revolution (16 links); amount = impact peak / machine RMS", 3.0, 6.0),
                A("sprocket_wear", "irregular, uneven clatter; amount = relative timing jitter of the links", 0.1, 0.25),
                A("motor_fault", "motor odd harmonics boosted and speed flutter; amount = flutter depth (fraction)", 0.006, 0.015),
            ),
        ),
        MachineSpec(
            name="Vacuum",
            split="eval",
            summary="Universal motor at high speed, impeller blade-pass whine (9 blades) and strong airflow "
            "noise; the car letter sets the nozzle, its digit the hose resonance, spd the power level, mic "
            "the distance.",
            snr_db=-1.0,
            source=("car_A1_spd_M_mic_1", "car_A2_spd_H_mic_1", "car_B1_spd_Lb_mic_1", "car_B2_spd_Mb_mic_1"),
            target=("car_C1_spd_Mb_mic_2", "car_C2_spd_H_mic_2"),
            source_env="factory_b",
            target_env="factory_a",
            anomalies=(
                A("clog", "motor speeds up (less load) and airflow noise gets narrower; amount = relative speed rise", 0.005, 0.015),
                A("brush_wear", "brush crackle; amount = crackle RMS / machine RMS", 0.08, 0.16),
                A("impeller_damage", "blade-pass whine amplitude-modulated at the rotor rate; amount = AM depth", 0.4, 0.8),
            ),
        ),
        MachineSpec(
            name="bandsaw",
            split="eval",
            summary="Induction-motor hum, buzzy tooth-pass harmonics with per-tooth irregularity, weld tick once "
            "per blade loop; vel sets the blade speed.",
            snr_db=-3.0,
            source=("vel_13", "vel_15"),
            target=("vel_12", "vel_14"),
            source_env="factory_c",
            target_env="factory_c",
            anomalies=(
                A("blade_crack", "strong tick with a new resonance once per blade loop; amount = impact peak / machine RMS", 2.5, 5.0),
                A("tooth_damage", "a run of damaged teeth (1/8 of the blade) chatters on every pass; amount = chatter click peak / machine RMS", 1.5, 3.0),
                A("wheel_bearing", "high-frequency noise band modulated at the wheel rate; amount = band RMS / machine RMS", 0.2, 0.4),
            ),
        ),
        MachineSpec(
            name="grinder",
            split="eval",
            summary="Motor harmonics plus grinding noise with contact flutter; grindstone sets the grit (noise "
            "colour), plate the workpiece resonances.",
            snr_db=-2.0,
            source=("grindstone_1_plate_1", "grindstone_2_plate_2", "grindstone_3_plate_3", "grindstone_1_plate_2"),
            target=("grindstone_4_plate_1", "grindstone_4_plate_3"),
            source_env="factory_a",
            target_env="factory_a",
            anomalies=(
                A("stone_unbalance", "disc-rate amplitude modulation and disc-rate tones (disc = motor / 3.3); amount = AM depth = tone RMS / machine RMS", 0.3, 0.6),
                A("worn_bearing", "6-7.5 kHz noise band and speed flutter; amount = band RMS / machine RMS", 0.08, 0.2),
                A("stone_crack", "impact once per disc revolution; amount = impact peak / machine RMS", 1.5, 3.0),
            ),
        ),
        MachineSpec(
            name="shaker",
            split="eval",
            summary="Eccentric-motor vibrator: motor harmonics at the vibration rate and rattle impacts twice per "
            "cycle with random strength; speed sets the motor rpm.",
            snr_db=-2.0,
            source=("speed_1000", "speed_1500"),
            target=("speed_1200",),
            source_env="factory_b",
            target_env="factory_c",
            anomalies=(
                A("loose_part", "extra impacts at random times with their own resonance; amount = impact peak / machine RMS", 0.3, 0.7),
                A("spring_fatigue", "vibration rate drops and upper harmonics grow; amount = relative rate drop", 0.01, 0.03),
                A("imbalance", "alternate rattle impacts stronger and weaker; amount = alternation depth", 0.4, 0.8),
            ),
        ),
    )
}

DEV_MACHINES: tuple[str, ...] = tuple(n for n, s in MACHINES.items() if s.split == "dev")
EVAL_MACHINES: tuple[str, ...] = tuple(n for n, s in MACHINES.items() if s.split == "eval")


def parse_attributes(attribute: str) -> dict[str, str]:
    """``"car_A1_spd_28V_mic_1"`` -> ``{"car": "A1", "spd": "28V", "mic": "1"}`` (key/value pairs)."""
    tokens = attribute.split("_")
    if len(tokens) % 2:
        raise ValueError(f"attribute string {attribute!r} is not key_value pairs")
    return dict(zip(tokens[0::2], tokens[1::2], strict=True))
