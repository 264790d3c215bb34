"""Building images: dgr projects (``carpool build`` …) and bootstrapped base images.

Library entry points:

``build.build_project(store, data_dir, project_dir, BuildOptions) -> BuildResult``
    One ``aci-manifest.yml`` project into ``target/image.aci`` (+ ``manifest.json``,
    ``version``); cached by inputs.  ``pod.build_any`` also takes ``pod-manifest.yml``
    projects (:mod:`.podbuild`).
``tester.test_project`` / ``trial.try_project`` / ``graph.write_graph`` /
``sample.init_project`` / ``sign.sign_image``
    dgr's ``test``, ``try``, ``graph``, ``init`` and ``sign``.
``bootstrap.bootstrap_busybox`` / ``bootstrap.bootstrap_debian``
    Base images from the host's busybox-static and debootstrap.

Nothing outlives a build (:mod:`.sessions`, :mod:`.interrupts`): each build holds a
locked session (``<data dir>/builds/<id>``) owning its overlay mounts, its runc
containers (``<data dir>/build-runc``, named ``carpool-build-<id>-<n>``) and their
cgroups, all removed when the build ends, fails or gets SIGINT/SIGTERM/SIGHUP (exit
128+signal, ``error: interrupted by …``).  ``sessions.recover_builds(data_dir)``
removes what SIGKILLed builds left; ``build``, ``install``, ``test`` and ``clean`` run
it first, and it never touches a live build's session.  Two builds of one project
take turns (the second waits, then usually finds the first's result cached).

Deliberate differences from dgr (compatibility kept otherwise):

* Build steps run in runc containers (host network, all capabilities) instead of a
  rkt stage1 + systemd-nspawn; the image rootfs is an overlay of the dependencies'
  rendered trees from carpool's store, the builder root an overlay of the default
  builder (host busybox + ``/dgr/bin``) or of ``builder.dependencies``.
  ``builder.image`` other than dgr's aci-builder is warned about and not used.
* Images get no ``/dgr/bin/prestart``, ``/dgr/bin/templater`` nor pre-start event
  handler: carpool's runtime does the prestart (templating) itself.
* The manifest's first templating pass sees the project's attributes (dgr: none,
  issue #264); the second, strict pass only happens when build scripts wrote
  ``/dgr/builder/attributes``.  Unknown manifest keys are warned about.
* ``ROOTFS`` is ``/`` in build/build-late scripts (dgr left it unset; scripts use
  ``${ROOTFS:-/}``).
* Dependencies are pinned by image ID as well as version; unversioned dependencies
  resolve offline to the newest matching image in the store (dgr issue #90).
* Builds are cached by their inputs and reproducible with ``SOURCE_DATE_EPOCH``
  (generated version and ``build-date`` annotation come from it); annotation
  ``carpool-version`` replaces ``dgr-version``.
* ``carpool test``: a ``wait.sh`` that never succeeds fails the tests (dgr's typo
  ignored it); ``/test`` runs as root (dgr: as the app's user); failed tests leave the
  store as it was; ``try`` sees dependency attributes (issue #191).
* ``-c/--catch-on-error`` opens a shell in the failed step's root (needs a terminal).
* Not implemented: ``-k/--keep-builder``, ``-C`` (catch on step),
  ``clean <command>``, ``update``, ``cp``, ``push``, ``config`` and dgr's config file.
* File deletions of dependency content (overlay whiteouts) are not recorded, as in
  dgr; they are warned about.
"""
