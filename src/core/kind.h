/*
 * kind.h - the table of model kinds: for each kind, what users call it, the
 * options it takes, the sections its models hold, and what it can do, as
 * function pointers.  Everything that differs between kinds is reached
 * through here, the way PostgreSQL reaches an index access method through
 * its IndexAmRoutine.  An operation a kind does not support is NULL; the
 * host turns that into one error whose hint lists the kinds that do
 * (rs_kinds_supporting), so no text that names kinds is written by hand.
 *
 * Adding a kind: a src/core/<kind>.c that defines its rs_kind, one line in
 * kinds.c, and its aggregate in the SQL scripts.
 */
#ifndef RECSYS_KIND_H
#define RECSYS_KIND_H

#include "history_codec.h"
#include "interactions.h"
#include "model.h"
#include "options.h"
#include "runtime.h"
#include "sequences.h"
#include "tags.h"

#include <stdbool.h>
#include <stddef.h>

/* What a kind may tell the user, in PostgreSQL's message style. */
typedef struct rs_report
{
	char		message[256];
	char		detail[256];
	char		hint[320];
} rs_report;

/* What a kind trains on. */
typedef enum rs_kind_input
{
	RS_INPUT_INTERACTIONS,		/* (user, item, value) rows */
	RS_INPUT_FEATURES			/* (feature vector, label) rows */
} rs_kind_input;

/* An option whose list value (layer widths) an option table cannot express. */
typedef struct rs_widths_spec
{
	const char *name;
	int			min_count;
	int			max_count;
	int			max_width;
	int			defaults[8];
	int			n_defaults;
	const char *hint;			/* an example, for a malformed list */
} rs_widths_spec;

#define RS_MAX_WIDTHS 16

/* The rows as collected, before they are arranged: what check_rows sees. */
typedef struct rs_training_rows
{
	const rs_interaction_buffer *interactions;	/* RS_INPUT_INTERACTIONS */
	const float *labels;		/* RS_INPUT_FEATURES: count labels */
	size_t		count;
} rs_training_rows;

typedef struct rs_fit_input
{
	const rs_interactions *data;	/* RS_INPUT_INTERACTIONS */
	const float *features;		/* RS_INPUT_FEATURES: rows x dims, row-major */
	const float *labels;
	size_t		rows;
	int			dims;
	const double *options;		/* in the kind's option table order */
	const int  *widths;			/* the widths option's value, or its defaults */
	int			n_widths;
	/* tagged kinds: the features of data's users and items (NULL: none) */
	const rs_tag_table *user_tags;
	const rs_tag_table *item_tags;
	/* sequential kinds: data's users' events in order */
	const rs_sequences *sequences;
} rs_fit_input;

/* A named list of numbers the model's description records. */
typedef struct rs_fit_series
{
	const char *name;
	const double *values;
	int			count;
} rs_fit_series;

/*
 * What a fit gives back: the model (pointing into memory of the runtime's
 * allocator and into the input), the loss after each iteration, and more
 * lists a kind records (e.g. a network's layer sizes); and a warning when
 * the fit learned nothing useful.
 */
typedef struct rs_fit
{
	rs_model	model;
	const double *loss;
	int			iterations;
	rs_fit_series series[2];	/* unused ones have no name */
	bool		warned;
	rs_report	warning;
	/* a fit that held rows out (validation_option): its best loss on them, and when */
	double		validation_loss;
	int			validation_iteration;
} rs_fit;

/*
 * A dimension of the kind's hyper-parameter search ("tune"): an option and
 * the range tried, on a log scale (tuning.h); a relative range is in
 * multiples of the option's value before the search, for options whose
 * default follows the data (adapt_options).
 */
typedef struct rs_search_dim
{
	int			option;
	double		low;
	double		high;
	bool		relative;
} rs_search_dim;

#define RS_MAX_SEARCH_DIMS 4

/* A trainer shared by kinds picks this one when options[option] == value. */
typedef struct rs_option_choice
{
	int			option;			/* -1: the trainer's only kind */
	int			value;
} rs_option_choice;

typedef struct rs_kind
{
	rs_algorithm algorithm;
	const char *name;			/* as model_info shows it */
	const char *trainer;		/* the training aggregate */
	const char *training;		/* what the fit does, for errors: "ALS training" */
	rs_kind_input input;
	bool		tagged;			/* its rows carry user and item tags (tags.h) */
	bool		sequential;		/* its rows carry an order (sequences.h); it reads
								 * histories in order, most recent first */

	/* options */
	const rs_option_spec *options;
	int			n_options;
	int			threads_option; /* positions in the table, or -1 */
	int			verbose_option;
	int			iterations_option;
	int			factors_option; /* the length of the factor rows, or -1 */
	int			users_option;	/* "users": "keep" or "fold_in" (model.h), or -1 */
	const rs_widths_spec *widths;	/* NULL: no list option */
	rs_option_choice chosen_by;
	/*
	 * Kinds of feature rows: the option holding a share of the rows out for
	 * a validation loss, which "tune" scores trials by (read for them alone)
	 */
	int			validation_option;
	/* what "tune" searches (none: the kind cannot be tuned) */
	rs_search_dim search[RS_MAX_SEARCH_DIMS];
	int			n_search;

	/* the model's layout: sections every model has, and those it may have */
	uint32_t	required_sections;
	uint32_t	optional_sections;

	/* training; the checks return false and fill *why to refuse */
	bool		(*prepare_options) (double *options, const bool *given, const int *widths,
									int n_widths, rs_report *why);
	bool		(*check_rows) (const rs_training_rows *rows, const double *options,
							   rs_report *why);
	bool		(*check_size) (const rs_interactions *data, const double *options,
							   rs_report *why);
	/* defaults that scale with the data: options not given, once it is arranged */
	void		(*adapt_options) (double *options, const bool *given,
								  const rs_interactions *data);
	/* defaults measured on the data by fitting; *note says what was chosen */
	rs_status	(*calibrate) (double *options, const bool *given, const rs_interactions *data,
							  const rs_runtime *rt, rs_report *note);
	rs_status	(*fit) (const rs_fit_input *in, const rs_runtime *rt, rs_fit *out);
	/* whether these options train a model of ratings (NULL: of preferences) */
	bool		(*fits_ratings) (const double *options);

	/* decoding: the kind's own sections, after the generic checks */
	const char *(*check_sections) (const rs_model_header *header, const unsigned char *bytes,
								   rs_model *model);
	/* floats in the MLP_WEIGHTS section, for kinds that have one */
	uint64_t	(*network_floats) (const rs_model *model);

	/* serving (scoring.h says what each computes) */
	double		(*predict) (const rs_model *model, int32_t user, int32_t item);
	double		(*predict_features) (const rs_model *model, const float *features,
									 float *scratch);
	bool		(*predicts_unknown) (const rs_model *model);
	bool		(*takes_strengths) (const rs_model *model);	/* values must be >= 0 */
	rs_status	(*score_items) (const rs_model *model, int32_t user, const rs_allocator *a,
								float *scores);
	rs_status	(*score_items_batch) (const rs_model *model, const int32_t *users, size_t n,
									  const rs_allocator *a, float *scores);
	rs_status	(*score_history) (const rs_model *model, const int32_t *items,
								  const float *values, size_t n, const rs_allocator *a,
								  float *scores);
	/* kinds that solve for a newcomer: the row, then its scores */
	rs_status	(*fold_in) (const rs_model *model, const int32_t *items, const float *values,
							size_t n, const rs_allocator *a, float *row, float *bias);
	rs_status	(*score_row) (const rs_model *model, const float *row, float user_bias,
							  const rs_allocator *a, float *scores);
	int			(*row_length) (const rs_model *model);	/* NULL: the factors */
	rs_status	(*explain) (const rs_model *model, int32_t user, int32_t item,
							const rs_allocator *a, double *contributions, double *baseline);
	bool		(*explain_has_baseline) (const rs_model *model);
	/* fills n_items scores; returns how many of the best are answers */
	size_t		(*similar) (const rs_model *model, int32_t item, float *scores);
	const float *(*user_vector) (const rs_model *model, int32_t user, int *length);
	const float *(*item_vector) (const rs_model *model, int32_t item, int *length);
	/* kinds with features (hybrid.h says what each computes) */
	int			(*row_of_tags) (const rs_model *model, bool of_user, const int32_t *tags,
								int n, float *row, float *bias);
	void		(*explain_features) (const rs_model *model, int32_t user, int32_t item,
									 double *contributions, double *identity);
} rs_kind;

/*
 * At least how many bytes a model of this kind and shape encodes to, known
 * before training: the header and every required section whose size the
 * shape fixes (ids, factors, biases, the training history as
 * rs_history_measure gives it for the collected rows, which EASE's
 * max_items can make a little high); sections whose size the fit decides (neighbours, the
 * description) count 0.  UINT64_MAX if it overflows.
 */
uint64_t	rs_model_size_at_least(const rs_kind *kind, uint64_t users, uint64_t items,
								   rs_history_size history, uint64_t factors);

/* The "users" option's values */
enum
{
	RS_USERS_KEEP,
	RS_USERS_FOLD_IN
};
extern const char *const rs_users_choices[];

/* The kind of a model's algorithm, or NULL for one this build does not know. */
const rs_kind *rs_kind_of(rs_algorithm algorithm);

/* The kinds whose trainer is this aggregate (first of them), or NULL. */
const rs_kind *rs_kind_of_trainer(const char *trainer);

/* Of the kinds sharing first's trainer, the one its options choose. */
const rs_kind *rs_kind_chosen(const rs_kind *first, const double *options);

/*
 * The names of the kinds whose operation at `offset` in rs_kind is not
 * NULL, as "a, b and c", into buf.
 */
void		rs_kinds_supporting(size_t offset, char *buf, size_t size);

/*
 * check_rows of kinds whose values are strengths (implicit feedback: counts,
 * durations, confidence weights), which a negative one has no meaning for.
 */
bool		rs_check_strengths(const rs_training_rows *rows, const double *options,
							   rs_report *why);

/* Predicates that hold for every model, or all options, of a kind. */
bool		rs_kind_yes(const rs_model *model);
bool		rs_kind_options_yes(const double *options);

#define RS_SECTION_BIT(s) (1u << (s))

#endif
