"""From the model's coarse matte to the final full-resolution one, one step a module: model input
(:mod:`.prepare`), upsampling (:mod:`.resize`), the guided filter (:mod:`.guided_filter`) and the
edge refinement built on it (:mod:`.refine`), the colour key (:mod:`.colorkey`) and its use as a
second opinion (:mod:`.anchor`), enclosed holes (:mod:`.holes`), the user's edits
(:mod:`.adjust`) and decontamination of the edge's colours (:mod:`.decontaminate`)."""
