"""DICOMweb (DICOM PS3.18) for the stored DICOM files: QIDO-RS search, WADO-RS retrieve, STOW-RS store.

DICOMweb shows the DICOM studies, series and instances as they are in the stored files. One
PannusMap Series may be made of several DICOM series (one per phase on some scanners), and each
of them is listed as its own DICOM series here.
"""
