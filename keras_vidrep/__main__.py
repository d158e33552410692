import sys

from keras_vidrep.cli import main

sys.exit(main())
