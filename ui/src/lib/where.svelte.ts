// Where the user was (open chart, open section), kept outside the components so that an
// auto-lock and unlock brings them back to the same place.
export const where = $state<{ patientId: string | null }>({ patientId: null });
